import ArgumentParser
import Foundation
import UnibusCore

/// `membershipd user add|list|revoke`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list, revoke and import users of the allowlist.",
        discussion: """
            add, revoke and import return once every running node has the change in force \
            ("applied on 1/1 node in 12 ms"), so a client may connect at once. If a running node \
            does not confirm within 10 s the change stays stored and the command exits 1 naming it.
            """,
        subcommands: [Add.self, List.self, Revoke.self, Import.self]
    )
}

extension UserCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a user (refuses any existing key or handle).")

        @Option(help: "Handle: a lowercase letter, then up to 31 of a-z 0-9 _ -.") var handle: String
        @Option(name: .customLong("sign-pub"), help: "The user's ed25519 public key, 64 hex characters (not a small-order point).") var signPub:
            String
        @Option(help: "admin or member.") var role: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            // Domain values are validated here, so bad values exit 1 with the same words as the API.
            let user = User(
                signPub: try SignPub(registering: signPub), handle: try Handle(handle),
                role: try Role(parsing: role), createdAt: Date())
            let opened = try await store.open(create: true)
            try await opened.addUser(user)
            print("added \(user.handle) (\(user.role.rawValue)) sign-pub \(user.signPub) nkey \(user.nkey)")
            if let report = await store.replicationReport(opened) { print(report) }
            print(try await ChangeConfirmation.of(opened, sqlitePath: store.sqlitePath).waitForNodes())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every user, revoked ones included.")

        @Flag(help: "Print a JSON array.") var json = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let users = try await store.open(create: false).users()
            print(json ? try UserListing.json(users) : UserListing.table(users), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a user by sign-pub or handle; their live connections are closed.")

        @Argument(help: "The user's sign-pub (64 hex) or handle.") var user: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let opened = try await store.open(create: false)
            let target = try await opened.user(matching: user)
            guard target.status == .active else {
                throw StoreError.userRevoked("\(target.handle) (\(target.signPub))")
            }
            let revoked = try await opened.revokeUser(target.signPub, at: Date())
            print("revoked \(revoked.handle) sign-pub \(revoked.signPub)")
            if let report = await store.replicationReport(opened) { print(report) }
            print(try await ChangeConfirmation.of(opened, sqlitePath: store.sqlitePath).waitForNodes())
        }
    }
}
