import Foundation
import Testing
import UnibusCore
import UnibusProcess
import UnibusStoreSQLite
import UnibusTestSupport

/// The data plane seen by a client nobody here wrote: nats-py + nkeys from PyPI.
@Suite("independent peer: nats-py", .serialized)
struct PeerClientTests {
    /// Runs Tests/Peers/nats_py_peer.py and reads its JSON lines.
    final class Peer: Sendable {
        let child: ChildProcess
        private let output = LogBuffer()

        init(serve: ServeFixture, pair: UserKeyPair, handle: String, room: String, forbidden: String, cert: String = "client") async throws {
            let seedFile = serve.dir.file("\(handle).seed")
            FileManager.default.createFile(atPath: seedFile, contents: Data(pair.nkeySeed.utf8), attributes: [.posixPermissions: 0o600])
            let script = ServeFixture.repoRoot.appendingPathComponent("Tests/Peers/nats_py_peer.py").path
            let certPath = cert == "-" ? "-" : "\(serve.tls)/\(cert).crt"
            let arguments = [
                TestPython.executable, script, serve.url, "\(serve.tls)/ca.crt", certPath, "\(serve.tls)/\(cert).key",
                seedFile, handle, room, forbidden,
            ]
            child = try await ChildProcess.start(
                Command("/usr/bin/env", arguments), stop: .init(signal: SIGTERM, grace: .seconds(5)), onOutputLine: output.append)
        }

        /// The JSON objects printed so far.
        var lines: [[String: Any]] {
            output.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func event(_ name: String, within timeout: Duration = .seconds(20)) async -> [String: Any]? {
            _ = await eventually(timeout: timeout) { lines.contains { $0["event"] as? String == name } }
            return lines.first { $0["event"] as? String == name }
        }

        deinit { child.requestStop() }
    }

    @Test("nats-py connects, uses its room, is refused elsewhere, and is closed on revocation", arguments: NatsServerBinaries.all)
    func natsPyPeer(_ natsServer: String) async throws {
        let w = try await DataPlaneTests.World(natsServer)
        let peer = try await Peer(serve: w.serve, pair: w.bob, handle: "bob", room: "general", forbidden: "ops")
        let ready = try #require(await peer.event("ready"), "\(w.serve.log)")
        #expect(ready["roundtrip"] as? Bool == true)
        // nats-py lowercases the server's -ERR text
        let violations = ready["violations"] as? [String] ?? []
        #expect(violations.contains { $0.lowercased().contains("permissions violation for publish to \"unibus.room.ops\"") }, "\(ready)")
        #expect(violations.contains { $0.lowercased().contains("permissions violation for publish to \"$js.api.info\"") }, "\(ready)")
        #expect(try await CLI.run(["user", "revoke", "bob", "--db", w.serve.db]).status == 0)
        let closed = await peer.event("closed")
        #expect(closed != nil, "the revoked nats-py connection stayed open")
        print("nats-py on revocation: \(closed ?? [:])")
    }

    @Test("nats-py without a client certificate or with an unknown key is refused")
    func natsPyRefused() async throws {
        let w = try await DataPlaneTests.World(NatsServerBinaries.debian)
        let noCert = try await Peer(serve: w.serve, pair: w.bob, handle: "bob", room: "general", forbidden: "ops", cert: "-")
        #expect(await noCert.event("refused") != nil)
        let stranger = try await Peer(serve: w.serve, pair: Fixture.keyPair(55), handle: "eve", room: "general", forbidden: "ops")
        let refused = await stranger.event("refused")
        #expect((refused?["error"] as? String)?.lowercased().contains("authorization") == true, "\(String(describing: refused))")
    }
}
