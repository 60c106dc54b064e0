import ArgumentParser
import UnibusCore
import UnibusStoreKV
import UnibusStoreSQLite

/// Where the allowlist lives for an operator command (contract: STORE = --db PATH | --store kv KV).
struct StoreOptions: ParsableArguments {
    static let defaultDB = "./local_files/unibus.db"

    @Option(name: .long, help: "SQLite allowlist file.")
    var db: String = defaultDB
    @Option(name: .long, help: "sqlite (the --db file) or kv (the live JetStream KV of a running node).")
    var store = "sqlite"
    @OptionGroup var kv: KVOptions

    var isKV: Bool { store == "kv" }

    /// Opens the store. Only the default SQLite location may have its directory created.
    func open(create: Bool) async throws -> any AllowlistStore {
        switch store {
        case "sqlite": return try SQLiteAllowlistStore(path: db, create: create, createDirectory: create && db == Self.defaultDB)
        case "kv": return try await kv.open()
        default: throw ServeError.invalid("--store must be sqlite or kv, not '\(store)'")
        }
    }

    /// After a KV write, the users bucket's replication (leader, followers current).
    func replicationReport(_ store: any AllowlistStore) async -> String? {
        guard let kvStore = store as? KVAllowlistStore else { return nil }
        return await ReplicationReport.line(kvStore, .users)
    }
}
