public import Foundation
public import UnibusCore
public import UnibusNats

/// Where every node of a KV allowlist publishes the ACL it runs: bucket `UNIBUS_nodes`, one key
/// per node (its server name), JSON ``NodeAclStatus``. A running node re-publishes at least
/// every `heartbeat`; the bucket's max age (`expiry`) drops the key of a node that stopped
/// without withdrawing it, so `runningNodes()` lists the nodes running now.
public struct KVAclStatusBoard: AclStatusBoard {
    public static let bucket = "UNIBUS_nodes"
    /// How often a node re-publishes an unchanged status.
    public static let heartbeat = Duration.seconds(10)
    /// How long a status lives without being re-published.
    public static let expiry = Duration.seconds(30)

    let nodes: NatsKeyValue

    /// Opens the bucket, creating it (with the allowlist's replicas) when absent.
    public static func open(_ store: KVAllowlistStore) async throws -> KVAclStatusBoard {
        do {
            let config = NatsKVBucketConfig(bucket: bucket, replicas: store.configuration.replicas, maxAge: expiry)
            return KVAclStatusBoard(nodes: try await store.jetStream.keyValue(config))
        } catch {
            throw KVAllowlistStore.storeError(error)
        }
    }

    /// Binds the bucket without creating it (operator commands never create buckets).
    /// - Returns: nil when no node has created it (no node of this version runs), or when
    ///   JetStream does not answer within 8 s.
    public static func bind(_ store: KVAllowlistStore) async -> KVAclStatusBoard? {
        // JetStream may not answer for a while when nats-server 2.9.10 reloads accounts on a
        // busy machine (seen for more than 3 s in clean CI): ask again until 8 s have passed.
        let deadline = ContinuousClock.now + .seconds(8)
        while true {
            do {
                guard try await store.jetStream.bucketExists(bucket) else { return nil }
                return KVAclStatusBoard(nodes: try await store.jetStream.bind(bucket, maxAge: expiry))
            } catch {
                guard ContinuousClock.now < deadline else { return nil }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// A node's key: its server name when that is a valid key, else its hex.
    static func key(_ node: String) -> String {
        NatsKVEntry.isValidKey(node) && !node.contains(".") ? node : node.utf8.map { String(format: "%02x", $0) }.joined()
    }

    public func publish(_ status: NodeAclStatus) async throws {
        do {
            _ = try await nodes.put(Self.key(status.node), value: KVCodec.encode(status))
        } catch {
            throw KVAllowlistStore.storeError(error)
        }
    }

    public func runningNodes() async throws -> [NodeAclStatus] {
        let entries: [NatsKVEntry]
        do { entries = try await nodes.entries() } catch { throw KVAllowlistStore.storeError(error) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return entries.filter { $0.operation == .put }.compactMap { try? decoder.decode(NodeAclStatus.self, from: $0.value) }
            .sorted { $0.node < $1.node }
    }

    public func withdraw(node: String) async {
        try? await nodes.delete(Self.key(node))
    }
}
