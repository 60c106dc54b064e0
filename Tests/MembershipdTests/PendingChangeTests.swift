import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusTestSupport

/// A change that cannot reach nats-server: answered 503, retried, shown on /healthz, and a
/// revocation stuck past the bound stops the data plane rather than leave the user connected.
/// The fault is real: the server certificate the config names is moved away, so nats-server
/// refuses every reload (it re-reads the TLS files) and every config check, as it would after an
/// operator's mistake or a full disk; moving it back is the repair.
@Suite("changes that cannot be applied", .serialized)
struct PendingChangeTests {
    @Test("a revocation that cannot be applied: 503 to writes, /healthz 503, then the data plane stops; it comes back without the user")
    func stuckRevocationStopsTheDataPlane() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
        try await serve.waitUntilReady()
        let ana = try await serve.addUser("ana", 1, role: .admin)
        let bob = try await serve.addUser("bob", 2)
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(10)) {
            connection = try? await serve.connect(bob, handle: "bob")
            return connection != nil
        }
        let events = AsyncRecorder(try #require(connection, "\(serve.log)").events)
        let api = APIClient(serve)
        defer { Task { await api.shutdown() } }

        let cert = "\(serve.tls)/server.crt"
        try FileManager.default.moveItem(atPath: cert, toPath: cert + ".away")
        let revokedAt = ContinuousClock.now
        // the CLI waits for the node, which cannot apply it: stored, not confirmed, exit 1
        let revoke = try await CLI.run(["user", "revoke", "bob", "--db", serve.db])
        #expect(revoke.status == 1 && revoke.stderr.contains("the change is stored but applied on only 0/1 nodes"), "\(revoke.stderr)")
        // a write while the rendered ACL cannot be applied is a 503, never a 2xx
        let write = try await api.send(
            "POST", "/v1/users", body: Data(#"{"sign_pub":"\#(Fixture.keyPair(3).signPub.hex)","handle":"cat","role":"member"}"#.utf8),
            key: ana)
        #expect(write.status == 503 && write.code == "unavailable", "\(write)")
        var health: APIClient.Answer?
        _ = await eventually(timeout: .seconds(5)) {
            health = try? await api.raw("GET", "/healthz", body: nil, headers: [])
            return health?.status == 503
        }
        #expect(health?.status == 503 && health?.text.contains("\"acl\":false") == true, "\(String(describing: health))")
        // past the bound, nats-server is stopped; its config cannot be checked, so it stays down
        #expect(await events.contains(within: .seconds(25)) { $0 == .closed || $0 == .disconnected }, "\(serve.log)")
        print("stuck revocation -> bob's connection closed after \(ContinuousClock.now - revokedAt)")
        #expect(serve.log.contains("restarting it from the rendered config"))
        #expect(serve.log.contains("ACL change not applied, retrying"))

        // the fault goes away: the server comes back with the rendered ACL, bob stays out
        try FileManager.default.moveItem(atPath: cert + ".away", toPath: cert)
        let back = await eventually(timeout: .seconds(40)) {
            (try? await api.raw("GET", "/healthz", body: nil, headers: []))?.status == 200
        }
        #expect(back, "\(serve.log.suffix(3000))")
        await #expect(throws: NatsError.self) { _ = try await serve.connect(bob, handle: "bob") }
        let retry = try await api.send(
            "POST", "/v1/users", body: Data(#"{"sign_pub":"\#(Fixture.keyPair(3).signPub.hex)","handle":"cat","role":"member"}"#.utf8),
            key: ana)
        #expect(retry.status == 200 || retry.status == 201, "\(retry)")
        let cat = try await serve.connect(Fixture.keyPair(3), handle: "cat")
        await cat.close()
    }
}
