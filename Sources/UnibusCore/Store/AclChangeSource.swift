public import Foundation

/// How far a store's ordered change stream has got: for each stream (SQLite: its change log;
/// KV: the users and members buckets) the sequence of the last change included.
public struct AclPosition: Sendable, Codable, Equatable, CustomStringConvertible {
    public var marks: [String: UInt64]

    public init(_ marks: [String: UInt64] = [:]) { self.marks = marks }

    /// Whether every change up to `other` is included.
    public func covers(_ other: AclPosition) -> Bool {
        other.marks.allSatisfy { (marks[$0.key] ?? 0) >= $0.value }
    }

    /// Each stream at the later of the two.
    public func merged(with other: AclPosition) -> AclPosition {
        AclPosition(marks.merging(other.marks, uniquingKeysWith: max))
    }

    /// `members:40 users:12`
    public var description: String {
        marks.isEmpty ? "start" : marks.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
    }
}

/// One change to the records the ACL is rendered from, as a store's change stream reports it.
public enum AclChange: Sendable, Equatable {
    /// A user's record as stored now (active or revoked).
    case user(User)
    /// A user record that is gone or can no longer be read: it grants nothing.
    case userGone(SignPub)
    /// A user joined (`true`) or left (`false`) a room.
    case membership(room: RoomID, signPub: SignPub, present: Bool)
    /// Every room a user belongs to now, replacing what was known.
    case rooms(of: SignPub, [RoomID])
    /// A stored record that cannot be read (left out of the ACL, reported on /healthz), or
    /// `nil` once it is readable again or gone.
    case unreadable(key: String, problem: String?)
}

/// What a change stream delivers, in order.
public enum AclFeedEvent: Sendable {
    /// The whole allowlist as of `position`: replaces what was known.
    case snapshot(ACLRecords, AclPosition)
    /// Changes in order, the last of them at `position`.
    case changes([AclChange], AclPosition)
}

/// A store's ordered stream of ACL-relevant changes, whoever made them (this process, the CLI,
/// another node). Writes that do not concern the ACL (room keys, nonces) are not in it.
public protocol AclChangeSource: Sendable {
    /// The stream's head now: every change committed before the call is at or before it.
    /// - Throws: `StoreError.unavailable` when the store cannot say.
    func head() async throws -> AclPosition
    /// The whole allowlist and where in the stream it was read.
    func snapshot() async throws -> (ACLRecords, AclPosition)
    /// The changes after `position` (or a snapshot first, when `position` is nil or cannot be
    /// followed from), then each change as it is committed, until the consumer cancels. When
    /// the stream has to start over (a watch restarted), it delivers a new snapshot.
    func events(after position: AclPosition?) -> AsyncStream<AclFeedEvent>
}

/// The ACL a node runs: what `cluster status`, `/healthz` and the CLI's confirmation read.
public struct NodeAclStatus: Sendable, Codable, Equatable {
    /// The node's server name.
    public var node: String
    /// Counts the ACLs this node's nats-server has run since membershipd started (1 = the first start).
    public var generation: UInt64
    /// Every change up to here is in force on this node.
    public var position: AclPosition
    public var appliedAt: Date
    /// membershipd's pid, to tell a stale status from a live one on one machine.
    public var pid: Int32

    public init(node: String, generation: UInt64, position: AclPosition, appliedAt: Date, pid: Int32) {
        self.node = node
        self.generation = generation
        self.position = position
        self.appliedAt = appliedAt
        self.pid = pid
    }

    enum CodingKeys: String, CodingKey { case node, generation, position, appliedAt = "applied_at", pid }
}

/// Where nodes publish the ACL they run, and where the CLI reads it.
public protocol AclStatusBoard: Sendable {
    /// Records this node's status (called after every change in force).
    func publish(_ status: NodeAclStatus) async throws
    /// The status of every node that is running now.
    func runningNodes() async throws -> [NodeAclStatus]
    /// This node stops: it no longer counts as running.
    func withdraw(node: String) async
}
