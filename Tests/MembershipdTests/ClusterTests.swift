import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusTestSupport

/// Three real membershipd nodes (three nats-servers with real routes on loopback), KV R3.
@Suite("cluster of three: KV R3, revocation and nonces across nodes", .serialized)
struct ClusterTests {
    final class Cluster: @unchecked Sendable {
        let nodes: [ServeFixture]
        init() async throws {
            let routePorts = (0..<3).map { _ in FreePort.next() }
            let routes = routePorts.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ",")
            nodes = try await (0..<3).asyncMap { i in
                try await ServeFixture(
                    natsServer: NatsServerBinaries.debian,
                    arguments: [
                        "--store", "kv", "--kv-replicas", "3", "--server-name", "n\(i + 1)", "--cluster-name", "unibus-test",
                        "--cluster-port", "\(routePorts[i])", "--routes", routes,
                    ])
            }
            for node in nodes {
                try await node.waitUntilReady()
                guard await eventually(timeout: .seconds(90), { node.log.contains("KV allowlist open (replicas 3)") }) else {
                    throw FixtureFailure("R3 KV never opened:\n\(node.log)")
                }
            }
        }
        func kvFlags(_ node: ServeFixture) -> [String] {
            [
                "--store", "kv", "--nats-url", "nats://127.0.0.1:\(node.natsPort)", "--ca", "\(node.tls)/ca.crt",
                "--internal-id-file", node.dir.file("local_files/internal.id"),
            ]
        }
    }

    @Test("a user added on node 1 connects to node 3; revoked on node 1, its node-3 connection closes")
    func revocationReachesEveryNode() async throws {
        let c = try await Cluster()
        let bob = Fixture.keyPair(2)
        let add = try await CLI.run(["user", "add", "--handle", "bob", "--sign-pub", bob.signPub.hex, "--role", "member"] + c.kvFlags(c.nodes[0]))
        #expect(add.status == 0, "\(add.stderr)\n\(c.nodes[0].log.suffix(2500))")
        #expect(add.stdout.contains("replicas 3, leader n"), "\(add.stdout)")
        // confirmed by all three nodes: bob connects to node 3 at once, no retry
        #expect(add.stdout.contains("applied on 3/3 nodes in "), "\(add.stdout)")
        let connection = try await c.nodes[2].connect(bob, handle: "bob")
        let events = AsyncRecorder(connection.events)
        let start = ContinuousClock.now
        let revoke = try await CLI.run(["user", "revoke", "bob"] + c.kvFlags(c.nodes[0]))
        #expect(revoke.status == 0 && revoke.stdout.contains("applied on 3/3 nodes"), "\(revoke.stdout)\(revoke.stderr)")
        #expect(await events.contains(within: .seconds(2)) { $0 == .closed || $0 == .disconnected }, "\(c.nodes[2].log)")
        print("cluster: revoke on n1 -> connection on n3 closed in \(ContinuousClock.now - start)")
        let status = try await CLI.run(["cluster", "status"] + c.kvFlags(c.nodes[1]).dropFirst(2))
        #expect(status.status == 0 && status.stdout.contains("UNIBUS_nonces: replicas 3"), "\(status.stdout)\(status.stderr)")
    }

    @Test("a nonce used on node 1 is refused on node 3; healthz shows the cluster")
    func nonceIsOnceCluster() async throws {
        let c = try await Cluster()
        let ana = Fixture.keyPair(1)
        // Right after the cluster forms, R3 writes or a node's confirmation can take longer than
        // the CLI's bound (seen once in clean CI): each refusal is printed, then tried again.
        var added: CLIResult?
        _ = await eventually(timeout: .seconds(40), every: .milliseconds(500)) {
            added = try? await CLI.run(["user", "add", "--handle", "ana", "--sign-pub", ana.signPub.hex, "--role", "admin"] + c.kvFlags(c.nodes[0]))
            if let added, added.status != 0 { print("cluster warm-up: user add exit \(added.status): \(added.stdout)\(added.stderr)") }
            return added?.status == 0 || added?.stderr.contains("already registered") == true
        }
        #expect(added?.status == 0 || added?.stderr.contains("already registered") == true, "\(String(describing: added))")
        let a = APIClient(c.nodes[0]), b = APIClient(c.nodes[2])
        // Warm up with fresh nonces until ana is known and the R3 nonce bucket has a leader
        // (right after the cluster forms a nonce write may time out: 503, fail closed).
        var warm: APIClient.Answer?
        _ = await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
            warm = try? await a.send("GET", "/v1/me", key: ana)
            return warm?.status == 200
        }
        #expect(warm?.status == 200, "\(String(describing: warm))")
        let nonce = RequestSigner.randomNonce()
        let first = try await a.send("GET", "/v1/me", key: ana, nonce: nonce)
        #expect(first.status == 200, "\(first)")
        let replay = try await b.send("GET", "/v1/me", key: ana, nonce: nonce)
        #expect(replay.status == 401 && replay.code == "replayed", "\(replay)")
        var health = try await b.raw("GET", "/healthz", body: nil, headers: [])
        func routes(_ answer: APIClient.Answer) -> Int? {
            ((answer.json as? [String: Any])?["cluster"] as? [String: Any])?["routes"] as? Int
        }
        // healthz caches its canary for 2 s; give the peers a moment to be seen
        for _ in 0..<20 where routes(health) != 2 {
            try await Task.sleep(for: .milliseconds(500))
            health = try await b.raw("GET", "/healthz", body: nil, headers: [])
        }
        let cluster = (health.json as? [String: Any])?["cluster"] as? [String: Any]
        #expect(cluster?["name"] as? String == "unibus-test")
        #expect(cluster?["routes"] as? Int == 2, "\(health)")
        // a write answered by node 1 says how many of the three nodes had it in force by then
        let room = try await a.send("POST", "/v1/rooms", body: Data(#"{"id":"ops"}"#.utf8), key: ana)
        let applied = room.headers.first { $0.0.lowercased() == "unibus-acl-applied" }?.1
        #expect(room.status == 201 && applied?.hasSuffix("/3") == true && applied?.hasPrefix("0") == false, "\(room) \(room.headers)")
        await a.shutdown()
        await b.shutdown()
    }

    @Test("without quorum the control plane fails closed: signed requests and healthz answer 503")
    func noQuorumFailsClosed() async throws {
        let c = try await Cluster()
        let ana = Fixture.keyPair(1)
        // Right after the cluster forms, R3 writes or a node's confirmation can take longer than
        // the CLI's bound (seen once in clean CI): each refusal is printed, then tried again.
        var added: CLIResult?
        _ = await eventually(timeout: .seconds(40), every: .milliseconds(500)) {
            added = try? await CLI.run(["user", "add", "--handle", "ana", "--sign-pub", ana.signPub.hex, "--role", "admin"] + c.kvFlags(c.nodes[0]))
            if let added, added.status != 0 { print("cluster warm-up: user add exit \(added.status): \(added.stdout)\(added.stderr)") }
            return added?.status == 0 || added?.stderr.contains("already registered") == true
        }
        #expect(added?.status == 0 || added?.stderr.contains("already registered") == true, "\(String(describing: added))")
        let api = APIClient(c.nodes[0])
        var ok: APIClient.Answer?
        _ = await eventually(timeout: .seconds(10)) {
            ok = try? await api.send("GET", "/v1/me", key: ana); return ok?.status == 200
        }
        #expect(ok?.status == 200, "\(String(describing: ok))")
        await c.nodes[1].stop()
        await c.nodes[2].stop()
        let start = ContinuousClock.now
        let refused = try await api.send("GET", "/v1/me", key: ana)
        #expect(refused.status == 503 && refused.code == "unavailable", "\(refused)")
        #expect(ContinuousClock.now - start < .seconds(15))
        let write = try await api.send("POST", "/v1/rooms", body: Data(#"{"id":"lonely"}"#.utf8), key: ana)
        #expect(write.status == 503, "\(write)")
        var health: APIClient.Answer?
        _ = await eventually(timeout: .seconds(15)) {
            health = try? await api.raw("GET", "/healthz", body: nil, headers: []); return health?.status == 503
        }
        #expect(health?.status == 503, "\(String(describing: health))")
        #expect((health?.json as? [String: Any])?["jetstream"] as? String == "no-quorum", "\(String(describing: health))")
        await api.shutdown()
    }
}
