import ArgumentParser
import Foundation
import UnibusCore

extension UserCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register many users from a JSON lines file: all or nothing, one ACL change.",
            discussion: """
                Each non-empty line is {"handle":"…","sign_pub":"<64 hex>","role":"admin|member"}, \\
                validated exactly like `user add`. Every line is checked before anything is written; \\
                any error (with its line number) refuses the whole file. A user already stored exactly \\
                as in the file is skipped, so re-running an import is safe. SQLite imports in one \\
                transaction; the KV has no transactions: if a write fails part way, the command says \\
                how many landed and a re-run finishes the import.
                """)

        @Option(help: "The JSON lines file.") var file: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let users = try UserImportFile.read(file, now: Date())
            let opened = try await store.open(create: true)
            let outcome = try await opened.importUsers(users)
            print("imported \(outcome.added) users (\(outcome.alreadyPresent) already present) from \(file)")
            if let report = await store.replicationReport(opened) { print(report) }
            print(try await ChangeConfirmation.of(opened, sqlitePath: store.sqlitePath).waitForNodes())
        }
    }
}

/// Reads and validates an import file; refuses it whole, naming each bad line (the first 20).
enum UserImportFile {
    struct Line: Decodable {
        var handle: String
        var signPub: String
        var role: String

        enum CodingKeys: String, CodingKey, CaseIterable { case handle, signPub = "sign_pub", role }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            let unknown = c.allKeys.map(\.stringValue).filter { key in !CodingKeys.allCases.contains { $0.rawValue == key } }
            guard unknown.isEmpty else {
                throw LineError("unknown field\(unknown.count == 1 ? "" : "s") \(unknown.sorted().joined(separator: ", "))")
            }
            func field(_ key: CodingKeys) throws -> String {
                guard let value = try? c.decode(String.self, forKey: AnyKey(key.rawValue)) else {
                    throw LineError("\"\(key.rawValue)\" must be a string")
                }
                return value
            }
            handle = try field(.handle)
            signPub = try field(.signPub)
            role = try field(.role)
        }
    }

    /// Why one line is refused.
    struct LineError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func read(_ path: String, now: Date) throws -> [User] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServeError.invalid("cannot read --file \(path): no such readable file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ServeError.invalid("--file \(path) is not UTF-8 text") }
        var users: [User] = []
        var problems: [String] = []
        var keys: [SignPub: Int] = [:]
        var handles: [Handle: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                let parsed: Line
                do { parsed = try JSONDecoder().decode(Line.self, from: Data(line.utf8)) } catch let error as LineError {
                    throw error
                } catch { throw LineError("not a JSON object") }
                let user = User(
                    signPub: try SignPub(registering: parsed.signPub), handle: try Handle(parsed.handle), role: try Role(parsing: parsed.role),
                    createdAt: now)
                if let first = keys[user.signPub] { throw LineError("sign_pub also on line \(first)") }
                if let first = handles[user.handle] { throw LineError("handle '\(user.handle)' also on line \(first)") }
                keys[user.signPub] = number
                handles[user.handle] = number
                users.append(user)
            } catch {
                problems.append("line \(number): \(error)")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "; ")
            throw ServeError.invalid(
                "\(path) has \(problems.count) invalid line\(problems.count == 1 ? "" : "s"), nothing was imported: \(shown)\(problems.count > 20 ? "; …" : "")"
            )
        }
        guard !users.isEmpty else { throw ServeError.invalid("\(path) holds no users; nothing was imported") }
        return users
    }
}
