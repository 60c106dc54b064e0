import ArgumentParser
import Foundation
import UnibusCore
import UnibusStoreKV
import UnibusStoreSQLite

/// Where the allowlist lives for an operator command (contract: STORE = --db PATH | --store kv KV).
///
/// With no store flag the command uses the store of this machine's node, found through the
/// record `serve` writes (``NodeRecord``), so `sudo membershipd user add …` on a deployed node
/// needs no flags. A flag naming a store the running node does not use is refused: a change
/// there would reach no node. Only an explicit `--db` may create a SQLite file.
struct StoreOptions: ParsableArguments {
    @Option(help: "SQLite allowlist file (default: the store of this machine's node, else \(NodePaths.local.database)).")
    var db: String?
    @Option(help: "Allowlist store (default: what this machine's node serves, else sqlite).")
    var store: StoreKind?
    @OptionGroup var kv: KVOptions

    /// The store a command works on, decided once from the flags and the node record.
    enum Target {
        case sqlite(path: String, mayCreate: Bool)
        case kv(KVOptions)
    }

    /// - Throws: `ServeError.invalid` for a store the running node does not use, or no store at
    ///   all (no flag, no node record, no default file).
    func target() throws -> Target {
        let found = try FoundNodeRecord.find()
        let kind = store ?? (db != nil ? .sqlite : found?.record.store ?? .sqlite)
        if let found, found.running { try refuseOtherStore(kind: kind, node: found) }
        if kind == .kv { return .kv(kv.completed(by: found?.record)) }
        if let db { return .sqlite(path: db, mayCreate: true) }
        if let found, found.record.store == .sqlite { return .sqlite(path: found.record.db, mayCreate: false) }
        guard FileManager.default.fileExists(atPath: NodePaths.local.database) else {
            throw ServeError.invalid(
                "no allowlist here: \(NodePaths.local.database) does not exist in \(FileManager.default.currentDirectoryPath) and no node record is in "
                    + NodePaths.searchOrder.map(\.directory).joined(separator: " or ")
                    + "; run this on a node (as root or its service user), or name the store with --db PATH or --store kv")
        }
        return .sqlite(path: NodePaths.local.database, mayCreate: false)
    }

    /// A running node on this machine serves one store; a flag naming another is a mistake.
    private func refuseOtherStore(kind: StoreKind, node: FoundNodeRecord) throws {
        let record = node.record
        switch (kind, record.store) {
        case (.sqlite, .kv):
            throw ServeError.invalid(
                "the node on this machine (\(node.path)) serves the JetStream KV allowlist, not \(db ?? NodePaths.local.database): "
                    + "a change there would reach no node; leave out --db and --store to use the node's store")
        case (.sqlite, _) where db.map(NodePaths.absolute) ?? record.db != record.db:
            throw ServeError.invalid(
                "the node on this machine (\(node.path)) serves \(record.db), not \(db ?? ""): a change there would reach no node; "
                    + "leave out --db to use the node's store")
        case (.kv, .sqlite) where kv.natsURL == nil:
            throw ServeError.invalid(
                "the node on this machine (\(node.path)) serves the SQLite file \(record.db), not the KV: leave out --store, "
                    + "or give --nats-url of a KV node")
        default: return
        }
    }

    /// Opens the store. `create` (add, import) may create only a SQLite file named with --db.
    func open(create: Bool) async throws -> any AllowlistStore {
        switch try target() {
        case .sqlite(let path, let mayCreate): return try SQLiteAllowlistStore(path: path, create: create && mayCreate)
        case .kv(let options): return try await options.open()
        }
    }

    /// The SQLite file a command wrote, for its confirmation; nil for the KV.
    var sqlitePath: String? {
        guard case .sqlite(let path, _) = try? target() else { return nil }
        return path
    }

    /// After a KV write, the users bucket's replication (leader, followers current).
    func replicationReport(_ store: any AllowlistStore) async -> String? {
        guard let replicated = store as? any ReplicatedAllowlistStore else { return nil }
        return await ReplicationReport.line(replicated, .users)
    }
}
