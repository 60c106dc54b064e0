import Foundation
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusStoreSQLite

/// After an operator command changed the allowlist: waits until every running node has the
/// change in force (each node publishes the position of the ACL it runs on its status board),
/// so a client may connect as soon as the command returns.
struct ChangeConfirmation {
    /// How long the nodes may take before the command says the change is not confirmed.
    static let bound = Duration.seconds(10)

    let source: any AclChangeSource
    let board: (any AclStatusBoard)?
    let pollInterval: Duration
    /// Nodes JetStream reports offline (a crashed node's status outlives it by up to 30 s): they
    /// cannot apply anything, so they are not waited for.
    var offlineNodes: @Sendable () async -> Set<String> = { [] }

    /// For the store a command just wrote to.
    static func of(_ store: any AllowlistStore, sqlitePath: String?) async -> ChangeConfirmation {
        if let replicated = store as? any ReplicatedAllowlistStore {
            return ChangeConfirmation(
                source: replicated.aclChanges(), board: await replicated.aclStatusBoard(), pollInterval: .milliseconds(10),
                offlineNodes: {
                    let status = try? await replicated.replication(of: .users)
                    return Set(status?.followers.filter(\.offline).map(\.name) ?? [])
                })
        }
        let path = sqlitePath ?? NodePaths.local.database
        return ChangeConfirmation(
            source: SQLiteAclSource(path: path), board: SQLiteAclStatusBoard(databasePath: path),
            pollInterval: .milliseconds(2))
    }

    /// Waits for the running nodes and says what happened, one line.
    /// - Throws: `ConfirmationError.notConfirmed` naming the nodes that did not apply it in time,
    ///   `ConfirmationError.unreadable` when their status cannot be read (the change is stored).
    func waitForNodes() async throws -> String {
        do { return try await pollNodes() } catch let error as StoreError { throw ConfirmationError.unreadable(error) }
    }

    private func pollNodes() async throws -> String {
        let clock = ContinuousClock()
        let start = clock.now
        let head = try await source.head()
        guard let board else {
            return "stored; no node reports the ACL it runs (nodes older than this command?): not confirmed"
        }
        while true {
            let nodes: [NodeAclStatus]
            do {
                nodes = try await board.runningNodes()
            } catch StoreError.unavailable(let why) {
                // JetStream may not answer while a node reloads its ACL: ask again until the bound.
                guard clock.now - start <= Self.bound else { throw StoreError.unavailable(why) }
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            guard !nodes.isEmpty else { return "stored; no node is serving this store: it takes effect when one starts" }
            let offline = await offlineNodes()
            let lagging = nodes.filter { !$0.position.covers(head) && !offline.contains($0.node) }
            let elapsed = clock.now - start
            if lagging.isEmpty {
                let down = nodes.filter { offline.contains($0.node) && !$0.position.covers(head) }.map(\.node).sorted()
                let applied = nodes.count - down.count
                return "applied on \(applied)/\(nodes.count) node\(nodes.count == 1 ? "" : "s") in \(Self.milliseconds(elapsed)) ms"
                    + (down.isEmpty ? "" : " (\(down.joined(separator: ", ")) offline: it applies the change when it is back)")
            }
            if elapsed > Self.bound {
                throw ConfirmationError.notConfirmed(
                    applied: nodes.count - lagging.count, of: nodes.count,
                    lagging: lagging.map { "\($0.node) (generation \($0.generation) at \($0.position))" }, needed: head.description)
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// The change is stored but a running node did not confirm it in time (exit 1).
enum ConfirmationError: Error, CustomStringConvertible {
    case notConfirmed(applied: Int, of: Int, lagging: [String], needed: String)
    /// The nodes' status could not be read; a `StoreError` of its own would say "nothing was changed".
    case unreadable(StoreError)

    var description: String {
        switch self {
        case .notConfirmed(let applied, let total, let lagging, let needed):
            "the change is stored but applied on only \(applied)/\(total) nodes within \(ChangeConfirmation.bound): "
                + "\(lagging.joined(separator: ", ")) not yet at \(needed); it is applied when they catch up — check their /healthz and logs"
        case .unreadable(.unavailable(let why)), .unreadable(.outcomeUnknown(let why)):
            "the change is stored, but whether the running nodes applied it could not be read (\(why)); check their /healthz and logs"
        case .unreadable(let error):
            "the change is stored, but whether the running nodes applied it could not be read (\(error)); check their /healthz and logs"
        }
    }
}
