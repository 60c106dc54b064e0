import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// Cluster operations on three real membershipd nodes: a lone node waits for quorum and says so,
/// `cluster status --wait` gates a restart, and buckets made at R1 are raised to R3 in place.
@Suite("cluster operations: quorum, the restart gate, R1 → R3 in place", .serialized)
struct ClusterOperationsTests {
    let cluster: ThreeNodeCluster
    init() async throws { cluster = try await ThreeNodeCluster() }

    func start(_ i: Int, replicas: Int) async throws -> ServeFixture { try await cluster.start(i, replicas: replicas) }

    /// `cluster status` from node `i`'s directory: the node record supplies every flag.
    func status(_ i: Int, _ extra: [String]) async throws -> CLIResult { try await cluster.cli(i, ["cluster", "status"] + extra) }

    static func json(_ r: CLIResult) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
    }

    @Test("a lone node waits for quorum (log, healthz 503 no-quorum); cluster status --wait gates a restart")
    func quorumAndTheRestartGate() async throws {
        let first = try await start(0, replicas: 3)
        try await first.waitUntilReady()
        #expect(await eventually(timeout: .seconds(20)) { first.log.contains("waiting for quorum") }, "\(first.log.suffix(2000))")
        let api = APIClient(first)
        var health: APIClient.Answer?
        _ = await eventually(timeout: .seconds(10)) {
            health = try? await api.raw("GET", "/healthz", body: nil, headers: [])
            return (health?.json as? [String: Any])?["jetstream"] as? String == "no-quorum"
        }
        #expect(health?.status == 503 && (health?.json as? [String: Any])?["jetstream"] as? String == "no-quorum", "\(String(describing: health))")

        var nodes = [first, try await start(1, replicas: 3), try await start(2, replicas: 3)]
        for node in nodes { try await node.waitUntilReady() }
        let gate = try await status(2, ["--wait", "--timeout", "90", "--json"])
        let report = try #require(Self.json(gate), "\(gate)")
        #expect(gate.status == 0 && report["all_current"] as? Bool == true, "\(gate)")
        let buckets = try #require(report["buckets"] as? [[String: Any]])
        #expect(buckets.count == 7 && buckets.allSatisfy { $0["replicas"] as? Int == 3 && $0["leader"] is String }, "\(buckets)")
        #expect((report["nodes"] as? [[String: Any]])?.count == 3, "\(report)")
        #expect(
            await eventually(timeout: .seconds(10)) {
                (health = try? await api.raw("GET", "/healthz", body: nil, headers: [])); return health?.status == 200
            })
        await api.shutdown()

        // A rolling restart of node 3: the gate is shut while it is down, open again once it is back and current.
        #expect(await nodes[2].stop() == 0)
        let shut = try await status(0, ["--wait", "--timeout", "8"])
        #expect(shut.status == 1 && shut.stderr.contains("not current after 8 s") && shut.stderr.contains("n3"), "\(shut)")
        nodes[2] = try await start(2, replicas: 3)
        try await nodes[2].waitUntilReady()
        let open = try await status(0, ["--wait", "--timeout", "90"])
        #expect(open.status == 0 && open.stdout.contains("all current"), "\(open)\n\(nodes[2].log.suffix(1500))")
        print("cluster ops: gate after restarting n3: \(open.stdout.split(separator: "\n").last ?? "")")
    }

    @Test("buckets made at R1 in a cluster are raised to R3 in place when the nodes restart with --kv-replicas 3")
    func r1IsRaisedToR3InPlace() async throws {
        var nodes = try await (0..<3).asyncMap { try await start($0, replicas: 1) }
        for node in nodes {
            try await node.waitUntilReady()
            guard await eventually(timeout: .seconds(40), { node.log.contains("KV allowlist open (replicas 1)") }) else {
                throw FixtureFailure("R1 KV never opened:\n\(node.log)")
            }
        }
        let ana = Fixture.keyPair(1)
        var added: CLIResult?
        _ = await eventually(timeout: .seconds(30), every: .milliseconds(500)) {
            added = try? await cluster.cli(0, ["user", "add", "--handle", "ana", "--sign-pub", ana.signPub.hex, "--role", "admin"])
            return added?.status == 0 || added?.stderr.contains("already registered") == true
        }
        #expect(added?.stdout.contains("replicas 1") == true || added?.stderr.contains("already registered") == true, "\(String(describing: added))")
        for node in nodes { #expect(await node.stop() == 0) }

        nodes = try await (0..<3).asyncMap { try await start($0, replicas: 3) }
        for node in nodes {
            try await node.waitUntilReady()
            guard await eventually(timeout: .seconds(60), { node.log.contains("KV allowlist open (replicas 3)") }) else {
                throw FixtureFailure("R3 never opened over the R1 buckets:\n\(node.log)")
            }
        }
        let gate = try await status(1, ["--wait", "--timeout", "90", "--json"])
        let report = try #require(Self.json(gate), "\(gate)")
        #expect(gate.status == 0, "\(gate)")
        let buckets = try #require(report["buckets"] as? [[String: Any]])
        #expect(buckets.allSatisfy { $0["replicas"] as? Int == 3 }, "\(buckets)")
        let list = try await cluster.cli(2, ["user", "list"])
        #expect(list.status == 0 && list.stdout.contains("ana"), "\(list)")
    }
}
