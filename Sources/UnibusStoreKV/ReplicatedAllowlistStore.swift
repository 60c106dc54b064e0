public import UnibusCore
public import UnibusNats

/// An allowlist store replicated across the nodes that serve it: a command that wrote to it can
/// report each bucket's replication and wait until every running node has the change in force.
/// The JetStream KV store is one; a SQLite file is not (it has one node, found by its path).
///
/// Ask for the capability, not for a concrete store:
/// ```swift
/// if let replicated = store as? any ReplicatedAllowlistStore {
///     let users = try await replicated.replication(of: .users)
/// }
/// ```
public protocol ReplicatedAllowlistStore: AllowlistStore {
    /// One bucket's replication: replicas, leader, followers and whether they are current.
    /// - Throws: `NatsKVError` when JetStream does not answer (no quorum) or the bucket is missing.
    func replication(of bucket: KVAllowlistStore.Bucket) async throws -> NatsKVBucketStatus
    /// The change stream every node of this store follows.
    func aclChanges() -> any AclChangeSource
    /// Where the running nodes publish the ACL they run, bound without being created.
    /// - Returns: nil when no node publishes there (none of this version runs) or JetStream
    ///   does not answer in time.
    func aclStatusBoard() async -> (any AclStatusBoard)?
}

extension KVAllowlistStore: ReplicatedAllowlistStore {
    public func replication(of bucket: Bucket) async throws -> NatsKVBucketStatus {
        try await jetStream.bucketStatus(bucket.rawValue)
    }

    public func aclChanges() -> any AclChangeSource { KVAclSource(store: self) }

    public func aclStatusBoard() async -> (any AclStatusBoard)? { await KVAclStatusBoard.bind(self) }
}
