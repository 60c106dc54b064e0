import Foundation
import Logging
import ServiceLifecycle
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor
import UnibusTestSupport

@testable import UnibusACL

/// The engine in process against one real nats-server and a real SQLite file: no membershipd
/// process, so each case costs one server start.
@Suite("ACL engine against a real nats-server", .serialized)
struct AclEngineTests {
    /// The engine, its server and its follower running in a service group.
    final class Node: Sendable {
        let dir = TempDirectory("unibus-test-engine")
        /// As `serve` holds it: the status board counts a node as running while it is held.
        let lock: InstanceLock
        let store: SQLiteAllowlistStore
        let engine: AclEngine
        let port = FreePort.next()
        let group: ServiceGroup
        let run: Task<Void, any Error>

        init() async throws {
            let db = dir.file("unibus.db")
            lock = try InstanceLock(directory: dir.path)
            store = try SQLiteAllowlistStore(path: db)
            let exe = try await NatsServerExecutable.locate(NatsServerBinaries.debian)
            let settings = NatsServerSettings(
                serverName: "engine-test", host: "127.0.0.1", clientPort: port, tls: nil, jetStreamDirectory: dir.file("js"),
                pidFile: dir.file("nats.pid"), log: NatsLogOptions(environment: [:]), cluster: nil, version: exe.version)
            let controller = NatsServerController(executable: exe, configFile: dir.file("nats.conf"))
            var logger = Logger(label: "engine-test")
            logger.logLevel = .warning
            engine = try AclEngine(
                .init(settings: settings, internalNkey: Fixture.keyPair(999).nkey, busAuthEnforced: true), controller: controller,
                source: SQLiteAclSource(path: db), readableBeforeServer: true, board: SQLiteAclStatusBoard(databasePath: db), logger: logger)
            let server = NatsServerService(
                controller: controller, configSource: engine, pidFile: settings.pidFile, logger: logger, forwardAllLogs: false)
            let follower = AclFollowService(engine: engine, source: SQLiteAclSource(path: db))
            group = ServiceGroup(services: [server, follower], logger: logger)
            run = Task { [group] in try await group.run() }
            let engine = engine
            guard await eventually(timeout: .seconds(15), { await engine.generation >= 1 }) else {
                throw FixtureError("the engine's nats-server did not start")
            }
        }

        func connect(_ n: Int, _ handle: String) async throws -> NatsConnection {
            var o = NatsConnectOptions(servers: ["nats://127.0.0.1:\(port)"], name: "unibus-test", timeout: .seconds(2))
            let pair = Fixture.keyPair(n)
            o.nkey = NatsNKeyCredentials(publicKey: pair.nkey, seed: try NatsNKeySeed(pair.seed))
            o.customInboxPrefix = Subjects.inboxPrefix(try Handle(handle))
            o.allowReconnect = false
            return try await NatsConnection.connect(o)
        }

        func stop() async {
            await group.triggerGracefulShutdown()
            _ = await run.result
        }
    }

    @Test("a user added is in force when sync returns: 20 of 20 connect at once")
    func addThenConnect() async throws {
        let node = try await Node()
        for i in 0..<20 {
            try await node.store.addUser(Fixture.user("user\(i)", 100 + i))
            _ = try await node.engine.sync()
            let c = try await node.connect(100 + i, "user\(i)")
            await c.close()
        }
        await node.stop()
    }

    @Test("a revocation is in force when sync returns: the live connection is closed")
    func revokeThenClosed() async throws {
        let node = try await Node()
        try await node.store.addUser(Fixture.user("bob", 2))
        _ = try await node.engine.sync()
        let bob = try await node.connect(2, "bob")
        let events = AsyncRecorder(bob.events)
        _ = try await node.store.revokeUser(Fixture.keyPair(2).signPub, at: Date())
        let generation = try await node.engine.sync()
        #expect(await events.contains(within: .seconds(2)) { $0 == .closed || $0 == .disconnected })
        await #expect(throws: NatsError.self) { _ = try await node.connect(2, "bob") }
        let status = try #require(try await SQLiteAclStatusBoard(databasePath: node.dir.file("unibus.db")).runningNodes().first)
        #expect(status.generation == generation)
        await node.stop()
    }

    @Test("concurrent changes share reloads (group commit); writes that do not touch the ACL wait for none")
    func groupCommit() async throws {
        let node = try await Node()
        let before = await node.engine.generation
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<100 {
                group.addTask {
                    try await node.store.addUser(Fixture.user("burst\(i)", 1000 + i))
                    _ = try await node.engine.sync()
                }
            }
            try await group.waitForAll()
        }
        let reloads = await node.engine.generation - before
        #expect(reloads >= 1 && reloads <= 25, "\(reloads) reloads for 100 concurrent adds")
        print("100 concurrent adds with sync -> \(reloads) reloads")
        // a nonce is not an ACL change: sync returns without a reload
        let settled = await node.engine.generation
        _ = try await node.store.consumeNonce(try NonceValue("nonce-0123456789abcdef"), expiresAt: Date() + 300, now: Date())
        #expect(try await node.engine.sync() == settled)
        await node.stop()
    }

    @Test("sync fails fast while nats-server is not running")
    func syncWithoutServer() async throws {
        let node = try await Node()
        await node.stop()
        await #expect(throws: AclEngineError.notRunning) { _ = try await node.engine.sync() }
    }
}
