import Foundation
import Testing
import UnibusCore
import UnibusProcess
import UnibusTestSupport

/// `membershipd user …` run as a process against a real SQLite file.
@Suite("membershipd user add|list|revoke", .serialized)
struct UserCommandTests {
    static let alice = Fixture.keyPair(1).signPub.hex
    static let zed = Fixture.keyPair(2).signPub.hex
    static let fresh = Fixture.keyPair(3).signPub.hex

    /// A database holding alice (active admin) and zed (revoked member).
    static func seededDatabase() async throws -> (TempDirectory, String) {
        let dir = TempDirectory("cli")
        let db = dir.file("unibus.db")
        #expect(try await CLI.run(["user", "add", "--handle", "alice", "--sign-pub", alice, "--role", "admin", "--db", db]).status == 0)
        #expect(try await CLI.run(["user", "add", "--handle", "zed", "--sign-pub", zed, "--role", "member", "--db", db]).status == 0)
        #expect(try await CLI.run(["user", "revoke", "zed", "--db", db]).status == 0)
        return (dir, db)
    }

    @Test func addListRevokeRoundTripsOnARealFile() async throws {
        let dir = TempDirectory("cli")
        let db = dir.file("unibus.db")
        let add = try await CLI.run(["user", "add", "--handle", "ana", "--sign-pub", Self.alice.uppercased(), "--role", "member", "--db", db])
        #expect(add.status == 0 && add.stderr.isEmpty)
        #expect(add.stdout.contains("added ana (member)") && add.stdout.contains(Fixture.keyPair(1).nkey))
        let list = try await CLI.run(["user", "list", "--db", db])
        #expect(list.status == 0 && list.stdout.contains("ana") && list.stdout.contains("active") && list.stdout.contains(Self.alice))
        let revoke = try await CLI.run(["user", "revoke", Self.alice, "--db", db])
        #expect(revoke.status == 0 && revoke.stdout.contains("revoked ana"))
        let json = try await CLI.run(["user", "list", "--json", "--db", db])
        #expect(json.status == 0)
        let users = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(users.count == 1)
        #expect(users[0]["handle"] as? String == "ana")
        #expect(users[0]["sign_pub"] as? String == Self.alice)
        #expect(users[0]["nkey"] as? String == Fixture.keyPair(1).nkey)
        #expect(users[0]["status"] as? String == "revoked")
        #expect(users[0]["role"] as? String == "member")
        #expect(users[0]["revoked_at"] is String)
    }

    @Test("user import refuses a file with any bad line, naming each, and writes nothing")
    func importRefusesBadFilesWhole() async throws {
        let (dir, db) = try await Self.seededDatabase()
        let before = try await CLI.run(["user", "list", "--json", "--db", db]).stdout
        let good = #"{"handle":"new1","sign_pub":"\#(Self.fresh)","role":"member"}"#
        let cases: [(String, String)] = [
            ("not json", "line 2: not a JSON object"),
            (#"{"handle":"x","sign_pub":"\#(Fixture.keyPair(4).signPub.hex)","role":"member","admin":true}"#, "unknown field admin"),
            (#"{"handle":"x","sign_pub":"\#(Fixture.keyPair(4).signPub.hex)"}"#, "\"role\" must be a string"),
            (#"{"handle":"Bad","sign_pub":"\#(Fixture.keyPair(4).signPub.hex)","role":"member"}"#, "handle"),
            (#"{"handle":"x","sign_pub":"\#("01" + String(repeating: "0", count: 62))","role":"member"}"#, "small-order point"),
            (#"{"handle":"x","sign_pub":"\#(Fixture.keyPair(4).signPub.hex)","role":"root"}"#, "role"),
            (#"{"handle":"new1","sign_pub":"\#(Fixture.keyPair(4).signPub.hex)","role":"member"}"#, "handle 'new1' also on line 1"),
            (#"{"handle":"y","sign_pub":"\#(Self.fresh)","role":"member"}"#, "sign_pub also on line 1"),
        ]
        for (line, message) in cases {
            let file = dir.file("import.jsonl")
            try "\(good)\n\(line)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let r = try await CLI.run(["user", "import", "--file", file, "--db", db])
            #expect(r.status == 1 && r.stderr.hasPrefix("error: ") && r.stderr.contains(message), "\(line): \(r.stderr)")
            #expect(r.stderr.contains("nothing was imported"), "\(r.stderr)")
            #expect(try await CLI.run(["user", "list", "--json", "--db", db]).stdout == before)
        }
        // a key or handle already stored differently refuses the whole file (SQLite: one transaction)
        let file = dir.file("clash.jsonl")
        try "\(good)\n{\"handle\":\"alice\",\"sign_pub\":\"\(Fixture.keyPair(5).signPub.hex)\",\"role\":\"member\"}\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let clash = try await CLI.run(["user", "import", "--file", file, "--db", db])
        #expect(clash.status == 1 && clash.stderr.contains("handle 'alice' is already taken"), "\(clash.stderr)")
        #expect(try await CLI.run(["user", "list", "--json", "--db", db]).stdout == before)
        // usage errors are exit 2
        #expect(try await CLI.run(["user", "import", "--db", db]).status == 2)
        let missing = try await CLI.run(["user", "import", "--file", dir.file("absent.jsonl"), "--db", db])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read --file"))
    }

    @Test func revokeAcceptsAHandle() async throws {
        let (dir, db) = try await Self.seededDatabase()
        let r = try await CLI.run(["user", "revoke", "alice", "--db", db])
        #expect(r.status == 0)
        #expect(try await CLI.run(["user", "list", "--json", "--db", db]).stdout.components(separatedBy: "\"revoked\"").count == 3)
        _ = dir
    }

    @Test func versionMatchesAppMd() async throws {
        let appMd = try String(contentsOf: Self.repoRoot.appendingPathComponent("app.md"), encoding: .utf8)
        let line = try #require(appMd.split(separator: "\n").first { $0.lowercased().hasPrefix("version:") })
        let version = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        let r = try await CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == version)
    }

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct BadInput: CustomTestStringConvertible, Sendable {
        let name: String
        let arguments: [String]
        let status: Int32
        let message: String
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = {
        let h64 = String(repeating: "c", count: 64)
        func add(_ handle: String, _ key: String, _ role: String = "member") -> [String] {
            ["user", "add", "--handle", handle, "--sign-pub", key, "--role", role]
        }
        return [
            BadInput(name: "sign-pub of 63 characters", arguments: add("bob", String(h64.dropLast())), status: 1, message: "got 63 characters"),
            BadInput(name: "sign-pub of 65 characters", arguments: add("bob", h64 + "c"), status: 1, message: "got 65 characters"),
            BadInput(name: "non-hex sign-pub", arguments: add("bob", String(h64.dropLast()) + "z"), status: 1, message: "non-hex"),
            BadInput(
                name: "sign-pub given as the user's nkey", arguments: add("bob", Fixture.keyPair(3).nkey), status: 1,
                message: "not its NATS nkey (U…, 56 characters): give \(fresh), the same key in hex"),
            BadInput(
                name: "sign-pub given as a seed", arguments: add("bob", Fixture.keyPair(3).nkeySeed), status: 1,
                message: "this is an nkey seed (S…): a secret, never to be pasted on a command line"),
            BadInput(name: "unknown --store", arguments: add("bob", fresh) + ["--store", "mysql"], status: 1, message: "'sqlite' and 'kv'"),
            BadInput(
                name: "a word for a number", arguments: add("bob", fresh) + ["--kv-replicas", "three"], status: 1,
                message: "The value 'three' is invalid for '--kv-replicas"),
            BadInput(name: "handle with a dot", arguments: add("bo.b", fresh), status: 1, message: "invalid handle 'bo.b'"),
            BadInput(name: "handle with a space", arguments: add("bo b", fresh), status: 1, message: "invalid handle 'bo b'"),
            BadInput(name: "uppercase handle", arguments: add("Bob", fresh), status: 1, message: "invalid handle 'Bob'"),
            BadInput(
                name: "handle over 32 characters", arguments: add(String(repeating: "b", count: 33), fresh), status: 1, message: "1-32 characters"),
            BadInput(name: "handle with a wildcard", arguments: add("bob>", fresh), status: 1, message: "invalid handle"),
            BadInput(name: "duplicate handle", arguments: add("alice", fresh), status: 1, message: "handle 'alice' is already taken"),
            BadInput(
                name: "unknown role", arguments: add("bob", fresh, "owner"), status: 1, message: "unknown role 'owner': expected admin or member"),
            BadInput(name: "re-adding an active key", arguments: add("bob", alice), status: 1, message: "already registered (active)"),
            BadInput(name: "re-adding a revoked key", arguments: add("bob", zed), status: 1, message: "already registered (revoked)"),
            BadInput(name: "revoking an unknown key", arguments: ["user", "revoke", fresh], status: 1, message: "no user with sign-pub or handle"),
            BadInput(
                name: "revoking an unknown handle", arguments: ["user", "revoke", "nobody"], status: 1,
                message: "no user with sign-pub or handle 'nobody'"),
            BadInput(name: "revoking an already revoked user", arguments: ["user", "revoke", "zed"], status: 1, message: "is revoked"),
            BadInput(name: "revoking a malformed name", arguments: ["user", "revoke", "a.b"], status: 1, message: "invalid handle 'a.b'"),
            BadInput(name: "missing --handle", arguments: ["user", "add", "--sign-pub", fresh, "--role", "member"], status: 2, message: "--handle"),
            BadInput(name: "missing --role", arguments: ["user", "add", "--handle", "bob", "--sign-pub", fresh], status: 2, message: "--role"),
            BadInput(name: "unknown flag", arguments: add("bob", fresh) + ["--colour"], status: 2, message: "--colour"),
        ] + weakKeys.map { BadInput(name: "weak sign-pub: \($0.name)", arguments: add("bob", $0.key), status: 1, message: $0.message) }
    }()

    /// Keys that are not canonical points of large order (see Fixtures/ed25519-key-vectors.json in
    /// UnibusCoreTests for where they come from).
    static let weakKeys: [(name: String, key: String, message: String)] = {
        let zeros = String(repeating: "0", count: 62), effs = String(repeating: "f", count: 60)
        let small = "is a small-order point", alias = "is not the canonical encoding"
        return [
            ("identity", "01" + zeros, small + " (order 1)"),
            ("order 2", "ec" + effs + "7f", small + " (order 2)"),
            ("order 4", "00" + zeros, small + " (order 4)"),
            ("order 4, sign bit set", zeros + "80", small + " (order 4)"),
            ("order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", small + " (order 8)"),
            ("order 8, sign bit set", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", small + " (order 8)"),
            ("y = p", "ed" + effs + "7f", alias),
            ("y = p + 1", "ee" + effs + "7f", alias),
            ("x = 0 with the sign bit set", "01" + String(zeros.dropLast(2)) + "80", alias),
            ("not a curve point", "02" + zeros, "is not a point on the ed25519 curve"),
        ]
    }()

    /// Every row of every table, as the sqlite3 shell prints it (opening the file can touch header
    /// counters, so the comparison is row for row).
    static func dump(_ db: String) async throws -> String {
        let text = try await Command("/usr/bin/sqlite3", ["-readonly", db, ".dump"]).succeed()
        #expect(text.contains("INSERT INTO users"))
        return text
    }

    @Test("bad input is refused with one line on stderr and the database is row-for-row unchanged", arguments: badInputs)
    func badInputChangesNothing(_ bad: BadInput) async throws {
        let (dir, db) = try await Self.seededDatabase()
        let listBefore = try await CLI.run(["user", "list", "--json", "--db", db]).stdout
        let before = try await Self.dump(db)
        let r = try await CLI.run(bad.arguments + ["--db", db])
        #expect(r.status == bad.status, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
        #expect(r.stderr.contains(bad.message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(try await Self.dump(db) == before)
        #expect(try await CLI.run(["user", "list", "--json", "--db", db]).stdout == listBefore)
        _ = dir
    }

    @Test("a seed given as sign-pub is never echoed back")
    func seedIsNotEchoed() async throws {
        let (dir, db) = try await Self.seededDatabase()
        let seed = Fixture.keyPair(3).nkeySeed
        let r = try await CLI.run(["user", "add", "--handle", "bob", "--sign-pub", seed, "--role", "member", "--db", db])
        #expect(r.status == 1 && r.stderr.contains("secret") && !r.stderr.contains(seed) && !r.stdout.contains(seed), "\(r.stderr)")
        _ = dir
    }

    @Test func aStoredWeakKeyIsFlaggedByUserList() async throws {
        let (dir, db) = try await Self.seededDatabase()
        let weak = Self.weakKeys[4].key
        try await Command("/usr/bin/sqlite3", [db, "INSERT INTO users VALUES ('\(weak)', 'mal', 'member', 'active', 1764000000, NULL);"]).succeed()
        let table = try await CLI.run(["user", "list", "--db", db])
        #expect(table.status == 0)
        let row = table.stdout.split(separator: "\n").first { $0.hasPrefix("mal ") }
        #expect(row?.contains("weak (small-order, order 8)") == true, "\(table.stdout)")
        #expect(table.stdout.split(separator: "\n").first { $0.hasPrefix("alice ") }?.contains(" ok ") == true)
        let json = try await CLI.run(["user", "list", "--json", "--db", db])
        let users = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let mal = try #require(users.first { $0["handle"] as? String == "mal" })
        #expect((mal["key_problem"] as? String)?.contains("small-order point (order 8)") == true)
        #expect(users.first { $0["handle"] as? String == "alice" }?["key_problem"] == nil)
        _ = dir
    }

    @Test func aDatabaseInAMissingDirectoryIsRefused() async throws {
        let dir = TempDirectory("cli")
        let r = try await CLI.run([
            "user", "add", "--handle", "bob", "--sign-pub", Self.fresh, "--role", "member", "--db", dir.file("no/such/dir/u.db"),
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("no")))
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndUnchanged() async throws {
        let dir = TempDirectory("cli")
        let path = dir.file("notes.db")
        let junk = Data(String(repeating: "operator notes, not a database\n", count: 64).utf8)
        FileManager.default.createFile(atPath: path, contents: junk)
        for args in [["user", "list"], ["user", "add", "--handle", "bob", "--sign-pub", Self.fresh, "--role", "member"]] {
            let r = try await CLI.run(args + ["--db", path])
            #expect(r.status == 1)
            #expect(r.stderr.contains("not a SQLite database"), "\(r.stderr)")
        }
        #expect(FileManager.default.contents(atPath: path) == junk)
    }

    @Test func listingAMissingDatabaseIsRefusedWithoutCreatingIt() async throws {
        let dir = TempDirectory("cli")
        let r = try await CLI.run(["user", "list", "--db", dir.file("absent.db")])
        #expect(r.status == 1 && r.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.db")))
    }

    @Test func anExplicitDatabaseIsCreatedPrivate() async throws {
        let dir = TempDirectory("cli")
        let r = try await CLI.run(["user", "add", "--handle", "bob", "--sign-pub", Self.fresh, "--role", "member", "--db", dir.file("new.db")])
        #expect(r.status == 0, "\(r.stderr)")
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.file("new.db"))
        #expect(attrs[.posixPermissions] as? Int == 0o600)
    }
}
