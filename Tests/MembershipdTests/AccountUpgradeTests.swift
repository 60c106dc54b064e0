import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusTestSupport

/// A single node started on a data directory written before accounts existed (allowlist buckets
/// in the global account `$G`) moves them into the UNIBUS account and loses nothing.
@Suite("upgrade: KV buckets move from $G into the UNIBUS account", .serialized)
struct AccountUpgradeTests {
    @Test("a KV allowlist from before accounts is served after the upgrade, users connect, nothing is lost")
    func legacyBucketsAreMoved() async throws {
        let dir = TempDirectory("unibus-test-upgrade")
        let bob = Fixture.keyPair(2)
        // The old layout: JetStream in $G, where earlier versions kept the buckets.
        do {
            let legacy = try await NatsServer(
                config: "jetstream { store_dir: \"\(dir.file("local_files/jetstream"))\" }\n", in: dir, name: "legacy",
                executable: NatsServerBinaries.debian)
            var o = NatsConnectOptions(servers: [legacy.url], name: "unibus-test")
            o.allowReconnect = false
            let old = try await KVAllowlistStore.connect(o)
            try await old.addUser(User(signPub: bob.signPub, handle: try Handle("bob"), role: .member, createdAt: Date()))
            try await old.createRoom(Room(id: try RoomID("general"), createdBy: bob.signPub, createdAt: Date()))
            await legacy.stop()
        }
        #expect(FileManager.default.fileExists(atPath: dir.file("local_files/jetstream/jetstream/$G/streams/KV_UNIBUS_users")))

        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian, arguments: ["--store", "kv"], directory: dir)
        try await serve.waitUntilReady()
        #expect(serve.log.contains("moved allowlist stream KV_UNIBUS_users"), "\(serve.log)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/jetstream/jetstream/$G/streams/KV_UNIBUS_users")))
        // bob, stored before the upgrade, is in the ACL again and may use his room
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(15)) {
            connection = try? await serve.connect(bob, handle: "bob")
            return connection != nil
        }
        let conn = try #require(connection, "bob could not connect after the upgrade:\n\(serve.log)")
        let sub = try await DataPlaneTests.record(conn, "unibus.room.general")
        try await conn.flush()
        try await conn.publish("unibus.room.general", payload: Array("hello".utf8))
        #expect(await sub.contains { $0.string == "hello" })
        await conn.close()
    }
}
