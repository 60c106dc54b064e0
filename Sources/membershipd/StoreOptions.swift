import ArgumentParser
import UnibusCore
import UnibusStoreSQLite

/// Where the allowlist lives for an operator command (contract: STORE).
struct StoreOptions: ParsableArguments {
    static let defaultDB = "./local_files/unibus.db"

    @Option(name: .long, help: "SQLite allowlist file.")
    var db: String = defaultDB

    /// Opens the SQLite store. Only the default location may have its directory created.
    func open(create: Bool) throws -> any AllowlistStore {
        try SQLiteAllowlistStore(path: db, create: create, createDirectory: create && db == Self.defaultDB)
    }
}
