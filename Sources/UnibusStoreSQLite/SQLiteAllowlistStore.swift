import Foundation
import GRDB
public import UnibusCore

/// The allowlist in one SQLite file (WAL, versioned migrations, file mode 0600).
///
/// Every write runs in one `BEGIN IMMEDIATE` transaction, so two processes writing the same
/// file serialise and constraints decide the loser. Users are never deleted (a trigger refuses it).
///
/// ```swift
/// let store = try SQLiteAllowlistStore(path: "./local_files/unibus.db")
/// try await store.addUser(user)
/// ```
public final class SQLiteAllowlistStore: AllowlistStore {
    let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating with mode 0600 if absent) and migrates the database at `path`.
    /// - Parameters:
    ///   - create: create the file when absent; when false, a missing file is refused.
    ///   - createDirectory: create a missing parent directory (0700) instead of refusing.
    /// - Throws: `StoreError.cannotOpen` naming the file and what to do.
    public init(path: String, create: Bool = true, createDirectory: Bool = false) throws {
        self.path = path
        try SQLiteFile.prepare(path: path, create: create, createDirectory: createDirectory)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.journalMode = .wal
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Migrate only when needed: a read-only open leaves the file byte-for-byte unchanged.
            let migrator = SQLiteSchema.migrator
            if try !pool.read(migrator.hasCompletedMigrations) { try migrator.migrate(pool) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError.cannotOpen("\(path) is not a SQLite database; point --db at the unibus database file")
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen("cannot open database \(path): \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// Runs `body` in one IMMEDIATE transaction; maps SQLite failures to `StoreError`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as DatabaseError {
            throw Self.storeError(error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError { throw Self.storeError(error) }
    }

    static func storeError(_ error: DatabaseError) -> StoreError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            .unavailable("database \(error.resultCode) (another writer holds it)")
        case .SQLITE_NOTADB:
            .cannotOpen("the file is not a SQLite database")
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL:
            .unavailable("SQLite: \(error.message ?? "\(error.resultCode)")")
        default:
            .conflict("SQLite: \(error.message ?? "\(error.resultCode)")")
        }
    }
}
