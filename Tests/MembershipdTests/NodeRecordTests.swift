import Foundation
import Testing
import UnibusCore
import UnibusStoreSQLite
import UnibusTestSupport

/// The on-node CLI: with no store flag it uses the store of the node running in its directory
/// (the record `serve` writes), refuses a store that node does not use, creates a SQLite file only
/// for an explicit `--db`, and never creates KV buckets.
@Suite("on-node CLI: the node record, refusals, nothing created", .serialized)
struct NodeRecordTests {
    static func add(_ handle: String, _ n: Int) -> [String] {
        ["user", "add", "--handle", handle, "--sign-pub", Fixture.keyPair(n).signPub.hex, "--role", "member"]
    }

    @Test("SQLite node: no flags works; another --db or --store kv is refused and creates nothing")
    func sqliteNode() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
        try await serve.waitUntilReady()
        let record = try String(contentsOfFile: serve.dir.file("local_files/node.json"), encoding: .utf8)
        #expect(record.contains("\"store\" : \"sqlite\"") && record.contains(serve.db), "\(record)")

        let added = try await CLI.run(Self.add("alice", 1), cwd: serve.dir.url)
        #expect(added.status == 0 && added.stdout.contains("applied on 1/1 node"), "\(added)")

        let other = try await CLI.run(Self.add("bob", 2) + ["--db", serve.dir.file("other.db")], cwd: serve.dir.url)
        #expect(other.status == 1 && other.stderr.contains("serves \(serve.db), not"), "\(other)")
        #expect(!FileManager.default.fileExists(atPath: serve.dir.file("other.db")))

        let kv = try await CLI.run(Self.add("bob", 2) + ["--store", "kv"], cwd: serve.dir.url)
        #expect(kv.status == 1 && kv.stderr.contains("serves the SQLite file"), "\(kv)")

        // The node's own file named explicitly is fine.
        let same = try await CLI.run(Self.add("bob", 2) + ["--db", serve.db], cwd: serve.dir.url)
        #expect(same.status == 0, "\(same)")
        #expect(try await serve.store().users().map { "\($0.handle)" }.sorted() == ["alice", "bob"])
    }

    @Test("KV node: no flags works (user add, cluster status); --db is refused")
    func kvNode() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian, arguments: ["--store", "kv"])
        try await serve.waitUntilReady()
        #expect(await eventually(timeout: .seconds(15)) { serve.log.contains("KV allowlist open") }, "\(serve.log)")
        var added: CLIResult?
        _ = await eventually(timeout: .seconds(15)) {
            added = try? await CLI.run(Self.add("alice", 1), cwd: serve.dir.url)
            return added?.status == 0
        }
        #expect(added?.status == 0 && added?.stdout.contains("applied on 1/1 node") == true, "\(String(describing: added))")
        let listed = try await CLI.run(["user", "list"], cwd: serve.dir.url)
        #expect(listed.status == 0 && listed.stdout.contains("alice"), "\(listed)")
        let status = try await CLI.run(["cluster", "status"], cwd: serve.dir.url)
        #expect(status.status == 0 && status.stdout.contains("UNIBUS_users: replicas 1"), "\(status)")

        let db = try await CLI.run(Self.add("bob", 2) + ["--db", serve.db], cwd: serve.dir.url)
        #expect(db.status == 1 && db.stderr.contains("serves the JetStream KV allowlist"), "\(db)")
        #expect(!FileManager.default.fileExists(atPath: serve.db))
    }

    @Test("KV commands never create buckets: against a node without them they say so, twice")
    func kvCommandsNeverCreateBuckets() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)  // SQLite: its server has no buckets
        try await serve.waitUntilReady()
        let elsewhere = TempDirectory("unibus-test-cli")
        let flags = [
            "--nats-url", "nats://127.0.0.1:\(serve.natsPort)", "--ca", "\(serve.tls)/ca.crt",
            "--internal-id-file", serve.dir.file("local_files/internal.id"),
        ]
        for args in [Self.add("alice", 1) + ["--store", "kv"], ["cluster", "status"], Self.add("alice", 1) + ["--store", "kv"]] {
            let r = try await CLI.run(args + flags, cwd: elsewhere.url)
            #expect(r.status == 1 && r.stderr.contains("has no allowlist bucket UNIBUS_"), "\(args): \(r)")
        }
    }

    @Test("no record and no --db: refused from any directory, nothing created")
    func noNodeHere() async throws {
        let dir = TempDirectory("unibus-test-cli")
        for args in [Self.add("alice", 1), ["user", "list"], ["user", "revoke", "alice"]] {
            let r = try await CLI.run(args, cwd: dir.url)
            #expect(r.status == 1 && r.stderr.contains("no allowlist here") && r.stderr.contains("--db"), "\(args): \(r)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
