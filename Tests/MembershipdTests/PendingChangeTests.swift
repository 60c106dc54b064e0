import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusTestSupport

/// A change that cannot reach nats-server: answered 503, retried, shown on /healthz, and a
/// revocation stuck past the bound stops the data plane rather than leave the user connected.
/// The fault is real: a wrapper around Debian's nats-server that, while a marker file exists,
/// refuses every reload (as nats-server does when a file it names is unreadable) and every config
/// check (as a broken binary or a full disk would).
@Suite("changes that cannot be applied", .serialized)
struct PendingChangeTests {
    /// A `nats-server` that refuses reloads and `-t` while `marker` exists and is Debian's otherwise.
    /// It runs the real server as its child (dying with it) and answers SIGHUP itself: the
    /// refusal is the line nats-server logs when a reload fails.
    static func refusingServer(in dir: TempDirectory, marker: String) throws -> String {
        let path = dir.file("refusing-nats-server")
        let script = """
            #!/bin/sh
            if [ "$1" = "-t" ]; then
              if [ -e '\(marker)' ]; then echo "nats-server: config refused by the test's marker" >&2; exit 1; fi
              exec '\(NatsServerBinaries.debian)' "$@"
            fi
            /usr/bin/setpriv --pdeathsig KILL -- '\(NatsServerBinaries.debian)' "$@" &
            child=$!
            trap 'if [ -e "\(marker)" ]; then echo "[$$] [ERR] Failed to reload server configuration: refused by the test marker" >&2; else kill -HUP $child; fi' HUP
            trap 'kill -INT $child' INT
            trap 'kill -TERM $child' TERM
            status=0
            while kill -0 $child 2>/dev/null; do wait $child; status=$?; done
            exit $status

            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test("a revocation that cannot be applied: 503 to writes, /healthz 503, then the data plane stops; it comes back without the user")
    func stuckRevocationStopsTheDataPlane() async throws {
        let tools = TempDirectory("unibus-test-pending")
        let marker = tools.file("refuse")
        let serve = try ServeFixture(natsServer: try Self.refusingServer(in: tools, marker: marker))
        try await serve.waitUntilReady()
        let ana = try serve.addUser("ana", 1, role: .admin)
        let bob = try serve.addUser("bob", 2)
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(10)) {
            connection = try? await serve.connect(bob, handle: "bob")
            return connection != nil
        }
        let events = AsyncRecorder(try #require(connection, "\(serve.log)").events)
        let api = APIClient(serve)
        defer { Task { await api.shutdown() } }

        FileManager.default.createFile(atPath: marker, contents: nil)
        let revokedAt = ContinuousClock.now
        #expect(try CLI.run(["user", "revoke", "bob", "--db", serve.db]).status == 0)
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
        try FileManager.default.removeItem(atPath: marker)
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
