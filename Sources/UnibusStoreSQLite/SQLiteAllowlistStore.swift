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
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path, opening: true)
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
            throw Self.storeError(error, path: path)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError { throw Self.storeError(error, path: path) }
    }

    /// The store's view of a SQLite failure, by result code, naming the file and what to do.
    /// A failed write is rolled back (one transaction), so none of these changed anything.
    /// - Parameter opening: the failure happened while opening or migrating the file.
    static func storeError(_ error: DatabaseError, path: String, opening: Bool = false) -> StoreError {
        storeError(code: error.extendedResultCode.rawValue, message: error.message, path: path, opening: opening)
    }

    /// ``storeError(_:path:opening:)`` from SQLite's extended result code and message.
    static func storeError(code: Int32, message: String?, path: String, opening: Bool = false) -> StoreError {
        let extended = ResultCode(rawValue: code)
        let detail = "SQLite error \(code): \(message ?? "\(extended)")"
        /// Unusable before it opened, or failing underneath a running store.
        func broken(_ text: String) -> StoreError { opening ? .cannotOpen(text) : .storageFailure(text) }
        switch extended.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .unavailable("database \(path) is locked by another writer (\(detail)); it stayed busy for longer than 10 s")
        case .SQLITE_NOTADB:
            return .cannotOpen(
                "\(path) is not a SQLite database, so not a unibus database (\(detail)); point --db at the unibus "
                    + "database file, or restore it from a backup if this was it")
        case .SQLITE_CORRUPT:
            return .cannotOpen(
                "database \(path) is corrupt (\(detail)); stop membershipd and restore the file from a backup "
                    + "(`sqlite3 \(path) .recover` may save what is left)")
        case .SQLITE_READONLY:
            return broken(
                "database \(path) cannot be written (\(detail)); give membershipd write access to the file and its "
                    + "directory (SQLite keeps -wal and -shm files beside it), or use a writable copy")
        case .SQLITE_CANTOPEN:
            return broken(
                "cannot open database \(path) (\(detail)); check that it is a file and that it and its directory "
                    + "are readable and writable by membershipd")
        case .SQLITE_IOERR:
            return broken("I/O error on database \(path) (\(detail)); check the disk and the file system, then retry")
        case .SQLITE_FULL:
            return broken("the disk holding database \(path) is full (\(detail)); free some space, then retry")
        case .SQLITE_CONSTRAINT:
            // Each write checks what the schema's constraints check, in the same IMMEDIATE
            // transaction, so a constraint that still fires means the store and the schema disagree.
            switch extended {
            case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
                return .conflict("database \(path) already holds this record (\(detail))")
            default:
                return .storageFailure(
                    "database \(path) refused the change (\(detail)); nothing was changed: unibus checks this before "
                        + "writing, please report it")
            }
        default:
            return opening
                ? .cannotOpen("cannot open database \(path) (\(detail))")
                : .storageFailure("SQLite failed on database \(path) (\(detail)); nothing was changed")
        }
    }
}
