import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusStoreSQLite
import UnibusTestSupport

/// `serve --store kv`, the live CLI over KV, and `migrate-to-kv`, against real processes.
@Suite("JetStream KV: serve, live CLI, migration", .serialized)
struct KVServeTests {
    final class Node: @unchecked Sendable {
        let serve: ServeFixture
        init() async throws {
            serve = try await ServeFixture(natsServer: NatsServerBinaries.debian, arguments: ["--store", "kv"])
            try await serve.waitUntilReady()
            guard await eventually(timeout: .seconds(15), { self.serve.log.contains("KV allowlist open") }) else {
                throw FixtureFailure("KV never opened:\n\(serve.log)")
            }
        }
        var kv: [String] {
            [
                "--store", "kv", "--nats-url", "nats://127.0.0.1:\(serve.natsPort)", "--ca", "\(serve.tls)/ca.crt",
                "--internal-id-file", serve.dir.file("local_files/internal.id"),
            ]
        }
        func cli(_ args: [String]) async throws -> CLIResult { try await CLI.run(args + kv, cwd: serve.dir.url) }
        /// migrate-to-kv takes the KV flags without --store.
        func migrate(_ db: String, extra: [String] = []) async throws -> CLIResult {
            try await CLI.run(["migrate-to-kv", "--db", db] + kv.dropFirst(2) + extra, cwd: serve.dir.url)
        }
        func add(_ handle: String, _ n: Int, role: String = "member") async throws -> UserKeyPair {
            let pair = Fixture.keyPair(n)
            let r = try await cli(["user", "add", "--handle", handle, "--sign-pub", pair.signPub.hex, "--role", role])
            guard r.status == 0 else { throw FixtureFailure("user add: \(r.stderr)") }
            return pair
        }
        /// The KV store opened from the test process: another client, as another node would be.
        func store() async throws -> KVAllowlistStore {
            var o = NatsConnectOptions(servers: ["tls://127.0.0.1:\(serve.natsPort)"], name: "test")
            o.tls = NatsTLSFiles(caFile: "\(serve.tls)/ca.crt", certFile: "\(serve.tls)/client.crt", keyFile: "\(serve.tls)/client.key")
            let id = try String(contentsOfFile: serve.dir.file("local_files/internal.id"), encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines)
            let pair = try UserKeyPair(seed: NKey.decodeSeed(id).seed)
            o.nkey = NatsNKeyCredentials(publicKey: pair.nkey, seed: try NatsNKeySeed(pair.seed))
            // A connect that lands while the node reloads its accounts was seen refused once
            // ("Authorization Violation", clean CI run); a few tries, then the real error.
            for _ in 0..<4 {
                if let store = try? await KVAllowlistStore.connect(o) { return store }
                try await Task.sleep(for: .milliseconds(250))
            }
            return try await KVAllowlistStore.connect(o)
        }
    }

    @Test("live CLI over KV: add, list, refuse a re-add, revoke closes the live connection")
    func liveCLI() async throws {
        let node = try await Node()
        let bob = try await node.add("bob", 2)
        let added = try await node.cli(["user", "add", "--handle", "cat", "--sign-pub", Fixture.keyPair(3).signPub.hex, "--role", "member"])
        #expect(added.stdout.contains("UNIBUS_users: replicas 1"), "\(added.stdout)")
        // confirmed: once the command returns, cat connects at once (no retry)
        #expect(added.stdout.contains("applied on 1/1 node in "), "\(added.stdout)")
        await (try await node.serve.connect(Fixture.keyPair(3), handle: "cat")).close()
        let again = try await node.cli(["user", "add", "--handle", "bob2", "--sign-pub", bob.signPub.hex, "--role", "member"])
        #expect(again.status == 1 && again.stderr.contains("already registered"), "\(again.stderr)")
        let list = try await node.cli(["user", "list", "--json"])
        #expect(list.status == 0 && list.stdout.contains("\"bob\"") && list.stdout.contains("\"cat\""))
        // the ACL follows the KV (watched): bob connects, then is revoked from the CLI
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(10)) {
            connection = try? await node.serve.connect(bob, handle: "bob"); return connection != nil
        }
        let bobConn = try #require(connection, "\(node.serve.log)")
        let events = AsyncRecorder(bobConn.events)
        let revoke = try await node.cli(["user", "revoke", "bob"])
        #expect(revoke.status == 0 && revoke.stdout.contains("applied on 1/1 node"), "\(revoke.stdout)")
        #expect(await events.contains(within: .seconds(2)) { $0 == .closed || $0 == .disconnected })
    }

    @Test("a revoke written straight into the KV by another client closes a live connection")
    func directKVRevoke() async throws {
        let node = try await Node()
        let bob = try await node.add("bob", 2)
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(10)) {
            connection = try? await node.serve.connect(bob, handle: "bob"); return connection != nil
        }
        let events = AsyncRecorder(try #require(connection).events)
        let store = try await node.store()
        _ = try await store.revokeUser(bob.signPub, at: Date())
        #expect(await events.contains(within: .seconds(10)) { $0 == .closed || $0 == .disconnected })
    }

    @Test("after nats-server dies, the restarted server gets the KV allowlist again and a revoke still closes connections")
    func restartedServerFollowsTheKV() async throws {
        let node = try await Node()
        let bob = try await node.add("bob", 2)
        let first = try #require(node.serve.childPID)
        kill(first, SIGKILL)
        #expect(await eventually(timeout: .seconds(15)) { node.serve.count("ready (pid") >= 2 }, "\(node.serve.log)")
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(15)) {
            connection = try? await node.serve.connect(bob, handle: "bob"); return connection != nil
        }
        let events = AsyncRecorder(try #require(connection, "bob never reconnected:\n\(node.serve.log)").events)
        var revoked: CLIResult?
        _ = await eventually(timeout: .seconds(15)) {
            revoked = try? await node.cli(["user", "revoke", "bob"]); return revoked?.status == 0
        }
        #expect(revoked?.status == 0, "\(String(describing: revoked))")
        #expect(await events.contains(within: .seconds(10)) { $0 == .closed || $0 == .disconnected }, "\(node.serve.log)")
    }

    @Test("a corrupt value in the KV is reported and left out, and never blocks a revocation")
    func corruptValueDoesNotBlockRevocation() async throws {
        let node = try await Node()
        let bob = try await node.add("bob", 2)
        let store = try await node.store()
        let bogus = Fixture.keyPair(9).signPub.hex
        _ = try await store.bucket(.users).put(bogus, value: Data("{not json".utf8))
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(10)) {
            connection = try? await node.serve.connect(bob, handle: "bob"); return connection != nil
        }
        let events = AsyncRecorder(try #require(connection, "\(node.serve.log)").events)
        #expect(try await node.cli(["user", "revoke", "bob"]).status == 0)
        #expect(await events.contains(within: .seconds(10)) { $0 == .closed || $0 == .disconnected }, "\(node.serve.log)")
        #expect(node.serve.log.contains("left out of the ACL"))
        #expect(!(try String(contentsOfFile: node.serve.dir.file("local_files/nats-server.conf"), encoding: .utf8)).contains(Fixture.keyPair(9).nkey))
    }

    @Test("healthz reports the KV store and a real canary write")
    func healthzOnKV() async throws {
        let node = try await Node()
        let api = APIClient(node.serve)
        let r = try await api.raw("GET", "/healthz", body: nil, headers: [])
        await api.shutdown()
        #expect(r.status == 200, "\(r)")
        let j = try #require(r.json as? [String: Any])
        #expect(j["store"] as? String == "kv" && j["jetstream"] as? String == "ready")
    }

    @Test func anUnreachableServerFailsFastNamingTheURL() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        FileManager.default.createFile(
            atPath: dir.file("internal.id"), contents: Data(UserKeyPair().nkeySeed.utf8), attributes: [.posixPermissions: 0o600])
        let port = FreePort.next()
        let start = Date()
        let r = try await CLI.run([
            "user", "list", "--store", "kv", "--nats-url", "nats://127.0.0.1:\(port)", "--ca", "\(tls)/ca.crt",
            "--internal-id-file", dir.file("internal.id"),
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("127.0.0.1:\(port)"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test("the internal identity file must exist and be 0600")
    func identityFileIsChecked() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let base = [
            "user", "list", "--store", "kv", "--nats-url", "nats://127.0.0.1:\(FreePort.next())", "--ca", "\(tls)/ca.crt", "--internal-id-file",
        ]
        let missing = try await CLI.run(base + [dir.file("absent.id")])
        #expect(missing.status == 1 && missing.stderr.contains("absent.id"), "\(missing.stderr)")
        FileManager.default.createFile(
            atPath: dir.file("open.id"), contents: Data(UserKeyPair().nkeySeed.utf8), attributes: [.posixPermissions: 0o644])
        let open = try await CLI.run(base + [dir.file("open.id")])
        #expect(open.status == 1 && open.stderr.contains("chmod 600"), "\(open.stderr)")
    }

    @Test func aNonLoopbackURLNeedsACA() async throws {
        let r = try await CLI.run(["migrate-to-kv", "--db", "/nonexistent.db", "--nats-url", "nats://10.1.2.3:4250"])
        #expect(r.status == 1 && r.stderr.contains("give --ca"), "\(r.stderr)")
    }

    @Test("migrate-to-kv copies 10,000 users with their rooms and keys; a re-run changes nothing")
    func migration() async throws {
        let node = try await Node()
        let dbPath = node.serve.dir.file("old.db")
        let sqlite = try SQLiteAllowlistStore(path: dbPath)
        let owner = Fixture.user("owner", 50_000, role: .admin)
        try await sqlite.addUser(owner)
        for r in 0..<20 { try await sqlite.createRoom(Fixture.room("room\(r)", by: owner)) }
        for i in 0..<9_999 {
            var u = Fixture.user("u\(i)", 60_000 + i)
            if i % 1000 == 999 { u.status = .revoked }
            try await sqlite.addUser(u)
            if i < 200 {
                try await sqlite.putMember(Fixture.member("room\(i % 20)", u))
                try await sqlite.putRoomKey(
                    RoomKey(room: RoomID("room\(i % 20)"), recipient: u.signPub, epoch: 1, wrapped: Data([1, 2, 3]), createdAt: Fixture.epoch))
            }
        }
        let first = try await node.migrate(dbPath)
        #expect(first.status == 0, "\(first.stderr)\n\(node.serve.log.suffix(3000))")
        #expect(first.stdout.contains("UNIBUS_users: 10000 copied, 0 already there"), "\(first.stdout)")
        #expect(first.stdout.contains("UNIBUS_rooms: 20 copied"), "\(first.stdout)")
        // the rooms' owners are copied as members, like the 200 others (rooms are records only)
        #expect(first.stdout.contains("UNIBUS_members and UNIBUS_rooms_by_member: 220 copied, 0 already there"), "\(first.stdout)")
        #expect(first.stdout.contains("UNIBUS_room_keys: 200 copied"), "\(first.stdout)")
        #expect(first.stderr.contains("migrating users: 10000/10000"))
        let second = try await node.migrate(dbPath)
        #expect(second.status == 0)
        #expect(second.stdout.contains("UNIBUS_users: 0 copied, 10000 already there"), "\(second.stdout)")
        #expect(second.stdout.contains("UNIBUS_members and UNIBUS_rooms_by_member: 0 copied, 220 already there"), "\(second.stdout)")
        #expect(second.stdout.contains("UNIBUS_room_keys: 0 copied, 200 already there"), "\(second.stdout)")
        let kv = try await node.store()
        #expect(try await kv.users().count == 10_000)
        #expect(try await kv.users().filter { $0.status == .revoked }.count == 9)
    }

    @Test("migrate-to-kv: --kv-replicas and the deprecated --replicas both check the buckets' replicas")
    func replicasSpellings() async throws {
        let node = try await Node()
        let dbPath = node.serve.dir.file("small.db")
        let sqlite = try SQLiteAllowlistStore(path: dbPath)
        try await sqlite.addUser(Fixture.user("solo", 70_000, role: .admin))
        let new = try await node.migrate(dbPath, extra: ["--kv-replicas", "1"])
        #expect(new.status == 0 && !new.stderr.contains("deprecated"), "\(new.stderr)")
        #expect(new.stdout.contains("UNIBUS_users: 1 copied"), "\(new.stdout)")
        let old = try await node.migrate(dbPath, extra: ["--replicas", "1"])
        #expect(old.status == 0, "\(old.stderr)")
        #expect(old.stderr.contains("warning: --replicas is deprecated; use --kv-replicas"), "\(old.stderr)")
        #expect(old.stdout.contains("UNIBUS_users: 0 copied, 1 already there"), "\(old.stdout)")
        for flag in ["--kv-replicas", "--replicas"] {
            let other = try await node.migrate(dbPath, extra: [flag, "3"])
            #expect(other.status == 1 && other.stderr.contains("the buckets have 1 replica, not --kv-replicas 3"), "\(flag): \(other.stderr)")
        }
    }
}
