import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusTestSupport

/// Three real nats-server processes with routes on loopback and R3 buckets: what one node
/// writes, another reads at once (reads come from the stream leader, not a lagging replica),
/// and a nonce is accepted once cluster-wide.
@Suite("KV store: 3-node cluster", .serialized)
struct KVClusterTests {
    static let ana = Fixture.user("ana", 1, role: .admin)

    /// Opens an R3 store through one node, retrying while the cluster elects its leaders.
    static func open(_ node: NatsServer) async throws -> KVAllowlistStore {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await KVAllowlistStore.connect(
                    node.options(name: "cluster-\(node.name)"), configuration: KVStoreConfiguration(replicas: 3))
            } catch {
                guard ContinuousClock.now < deadline else { throw FixtureError("no R3 store through \(node.name) in 30 s: \(error)\n\(node.log)") }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    @Test func readAfterWriteThroughAnotherNodeAndNoncesAcceptedOnceClusterWide() async throws {
        let dir = TempDirectory("store-kv-cluster")
        let cluster = try await JetStreamCluster(in: dir)
        defer { cluster.requestStop() }
        let a = try await Self.open(cluster.nodes[0])
        let c = try await Self.open(cluster.nodes[2])

        for bucket in KVAllowlistStore.Bucket.allCases {
            let status = try await c.jetStream.bucketStatus(bucket.rawValue)
            #expect(status.replicas == 3 && status.allowDirect == false && status.leader != nil, "\(bucket): \(status)")
            #expect(status.followers.count == 2, "\(bucket): \(status)")
        }

        for round in 0..<20 {
            let user = Fixture.user("user\(round)", 100 + round)
            try await a.addUser(user)
            #expect(try await c.user(user.signPub) == user, "round \(round): not visible on n3 right after the write on n1")
            let revoked = try await c.revokeUser(user.signPub, at: Fixture.epoch + 1)
            #expect(try await a.user(user.signPub) == revoked, "round \(round)")
            #expect(try await a.users().count == round + 1, "round \(round)")
        }

        try await a.addUser(Self.ana)
        try await a.createRoom(Fixture.room("general", by: Self.ana))
        #expect(try await c.members(of: RoomID("general")).map(\.signPub) == [Self.ana.signPub])
        #expect(try await c.rooms(ofMember: Self.ana.signPub) == [RoomID("general")])

        let nonce = try NonceValue("cluster-0123456789abcdef")
        #expect(try await a.consumeNonce(nonce, expiresAt: Date() + 300, now: Date()))
        #expect(try await c.consumeNonce(nonce, expiresAt: Date() + 300, now: Date()) == false)
    }

    @Test func twoNodesAddingOneHandleAtOnceExactlyOneWins() async throws {
        let dir = TempDirectory("store-kv-cluster")
        let cluster = try await JetStreamCluster(in: dir)
        defer { cluster.requestStop() }
        let stores = [try await Self.open(cluster.nodes[0]), try await Self.open(cluster.nodes[2])]
        for round in 0..<10 {
            let wins = await withTaskGroup(of: Bool.self) { group in
                for (i, store) in stores.enumerated() {
                    let user = Fixture.user("race\(round)", 200 + round * 2 + i)
                    group.addTask { (try? await store.addUser(user)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1, "round \(round)")
        }
        #expect(try await stores[1].users().count == 10)
    }
}
