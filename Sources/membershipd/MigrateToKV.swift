import ArgumentParser
import Foundation
import UnibusCore
import UnibusStoreKV
import UnibusStoreSQLite

/// `membershipd migrate-to-kv --db PATH [KV] [--replicas N]`: copies every record from SQLite
/// into the KV. Safe to re-run: a record already in the KV is left as it is (never overwritten,
/// never duplicated), and the counts say what was copied and what was kept.
struct MigrateToKV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to-kv", abstract: "Copy the SQLite allowlist into the live JetStream KV (safe to re-run).")

    @Option(help: "The SQLite allowlist to copy.") var db: String
    @OptionGroup var kv: KVOptions
    @Option(help: "Replicas for buckets this creates (overrides --kv-replicas).") var replicas: Int?

    struct Counts {
        var copied = 0, kept = 0, skipped: [String] = []
        var text: String {
            "\(copied) copied, \(kept) already there"
                + (skipped.isEmpty ? "" : ", \(skipped.count) not copied (they name a revoked user): \(skipped.prefix(10).joined(separator: ", "))")
        }
    }

    func run() async throws {
        var kvOptions = kv
        if let replicas { kvOptions.kvReplicas = replicas }
        _ = try kvOptions.connectOptions(name: "membershipd-migrate")  // refuse bad flags before touching anything
        let source = try SQLiteAllowlistStore(path: db, create: false)
        // A bulk copy makes the node reload its ACL over and over while it runs: allow each
        // operation more time than an interactive command does.
        let target = try await kvOptions.open(name: "membershipd-migrate", wait: .seconds(15))
        var users = Counts(), rooms = Counts(), members = Counts(), keys = Counts()

        let allUsers = try await source.users()
        for (i, user) in allUsers.enumerated() {
            do { try await target.addUser(user); users.copied += 1 } catch StoreError.alreadyRegistered { users.kept += 1 }
            progress("users", i + 1, allUsers.count)
        }
        let allMembers = try await source.allMembers()
        let roomIDs = Array(Set(allMembers.map(\.room))).sorted()
        for (i, id) in roomIDs.enumerated() {
            guard let room = try await source.room(id) else { continue }
            do {
                try await target.createRoom(room)
                rooms.copied += 1
            } catch StoreError.roomExists {
                rooms.kept += 1
            } catch StoreError.userRevoked {
                rooms.skipped.append(room.id.value)
            }
            progress("rooms", i + 1, roomIDs.count)
        }
        var existing: [RoomID: Set<SignPub>] = [:]
        for (i, member) in allMembers.enumerated() {
            if existing[member.room] == nil { existing[member.room] = Set(try await target.members(of: member.room).map(\.signPub)) }
            if existing[member.room]!.contains(member.signPub) {
                members.kept += 1
            } else {
                do {
                    try await target.putMember(member)
                    existing[member.room]!.insert(member.signPub)
                    members.copied += 1
                } catch StoreError.userRevoked {
                    members.skipped.append("\(member.room)/\(member.signPub.hex.prefix(8))")
                } catch StoreError.roomNotFound {
                    members.skipped.append("\(member.room)/\(member.signPub.hex.prefix(8))")
                }
            }
            progress("members", i + 1, allMembers.count)
        }
        for member in allMembers {
            let present = Set(try await target.roomKeys(room: member.room, recipient: member.signPub).map(\.epoch))
            for key in try await source.roomKeys(room: member.room, recipient: member.signPub) {
                if present.contains(key.epoch) {
                    keys.kept += 1
                } else if (try? await target.putRoomKey(key)) != nil {
                    keys.copied += 1
                } else {
                    keys.skipped.append("\(key.room)/\(key.recipient.hex.prefix(8))@\(key.epoch)")
                }
            }
        }
        print(
            """
            UNIBUS_users: \(users.text)
            UNIBUS_rooms: \(rooms.text)
            UNIBUS_members and UNIBUS_rooms_by_member: \(members.text)
            UNIBUS_room_keys: \(keys.text)
            UNIBUS_nonces: not copied (nonces only matter within the signature window)
            """)
        print(await ReplicationReport.line(target, .users))
    }

    /// One line on stderr every 1,000 records and at the end of each kind.
    func progress(_ what: String, _ done: Int, _ total: Int) {
        guard done % 1000 == 0 || done == total else { return }
        FileHandle.standardError.write(Data("migrating \(what): \(done)/\(total)\n".utf8))
    }
}

/// `membershipd cluster status [KV]`: each bucket's replicas, leader and followers.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Cluster status.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Buckets' replicas, leaders and whether followers are current.")
        @OptionGroup var kv: KVOptions

        func run() async throws {
            let store = try await kv.open(name: "membershipd-status")
            var lines: [String] = []
            for bucket in KVAllowlistStore.Bucket.allCases { lines.append(await ReplicationReport.line(store, bucket)) }
            print(lines.joined(separator: "\n"))
        }
    }
}
