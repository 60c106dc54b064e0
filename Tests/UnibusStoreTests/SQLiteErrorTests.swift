import Foundation
import Testing
import UnibusCore
import UnibusProcess
import UnibusTestSupport

@testable import UnibusStoreSQLite

/// SQLite failures are reported for what they are, naming the file and the fix: never as a
/// "conflicting concurrent update" to retry.
@Suite("SQLite store: errors")
struct SQLiteErrorTests {
    /// A store file with a user in it, checkpointed, so the whole database is in the main file.
    static func populated(_ dir: TempDirectory) async throws -> String {
        let path = dir.file("unibus.db")
        do {
            let store = try SQLiteAllowlistStore(path: path)
            for n in 1...200 { try await store.addUser(Fixture.user("user\(n)", n)) }
        }
        try await sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        return path
    }

    static func sqlite3(_ path: String, _ sql: String) async throws {
        try await Command("/usr/bin/sqlite3", [path, sql]).succeed()
    }

    static func openAndRead(_ path: String) async -> StoreError? {
        do {
            let store = try SQLiteAllowlistStore(path: path)
            _ = try await store.users()
            _ = try await store.members(of: RoomID("general"))
            try await store.addUser(Fixture.user("late", 999))
            return nil
        } catch let error as StoreError {
            return error
        } catch {
            Issue.record("not a StoreError: \(error)")
            return nil
        }
    }

    @Test func aFileOfGarbageIsNotADatabaseAndIsLeftAlone() async throws {
        let dir = TempDirectory()
        let path = dir.file("garbage.db")
        var junk = Data("SQLite format 3\0".utf8)  // a header that lies
        junk.append(Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }))
        _ = FileManager.default.createFile(atPath: path, contents: junk)
        let error = await Self.openAndRead(path)
        guard case .cannotOpen(let message) = error else { Issue.record("expected cannotOpen, got \(String(describing: error))"); return }
        #expect(message.contains(path), "\(message)")
        #expect(message.contains("not a SQLite database") || message.contains("is corrupt"), "\(message)")
        #expect(!"\(error!)".contains("conflicting concurrent update"))
        #expect(FileManager.default.contents(atPath: path) == junk)
    }

    @Test func aDatabaseWithGarbledPagesIsReportedCorruptWithTheFix() async throws {
        let dir = TempDirectory()
        let path = try await Self.populated(dir)
        // Keep page 1 (the header and the schema), garble the rest.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 4096))
        try handle.close()
        let error = await Self.openAndRead(path)
        guard case .cannotOpen(let message) = error else { Issue.record("expected cannotOpen, got \(String(describing: error))"); return }
        #expect(message.contains("database \(path) is corrupt"), "\(message)")
        #expect(message.contains("restore the file from a backup"), "\(message)")
    }

    @Test func aDirectoryWhereTheFileShouldBeCannotBeOpened() async throws {
        let dir = TempDirectory()
        let path = dir.file("unibus.db")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = await Self.openAndRead(path)
        guard case .cannotOpen(let message) = error else { Issue.record("expected cannotOpen, got \(String(describing: error))"); return }
        #expect(message.contains("cannot open database \(path)"), "\(message)")
    }

    /// Root writes through file modes, so this runs only for other users.
    @Test(.enabled(if: geteuid() != 0, "root writes a read-only file anyway"))
    func aReadOnlyFileIsReportedAsSuch() async throws {
        let dir = TempDirectory()
        let path = try await Self.populated(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        let error = await Self.openAndRead(path)
        let message = error.map { "\($0)" } ?? "no error"
        #expect(message.contains(path) && (message.contains("cannot be written") || message.contains("cannot read and write")), "\(message)")
    }

    /// Every primary result code maps to an honest error (the real-file cases are above; disk
    /// full, I/O errors and locks are not made here).
    @Test(arguments: [
        (5, "unavailable", "locked by another writer"),  // SQLITE_BUSY
        (6, "unavailable", "locked by another writer"),  // SQLITE_LOCKED
        (26, "cannotOpen", "is not a SQLite database"),  // SQLITE_NOTADB
        (11, "cannotOpen", "is corrupt"),  // SQLITE_CORRUPT
        (8, "storageFailure", "cannot be written"),  // SQLITE_READONLY
        (14, "storageFailure", "cannot open database"),  // SQLITE_CANTOPEN
        (778, "storageFailure", "I/O error"),  // SQLITE_IOERR_WRITE
        (13, "storageFailure", "is full"),  // SQLITE_FULL
        (2067, "conflict", "already holds this record"),  // SQLITE_CONSTRAINT_UNIQUE
        (275, "storageFailure", "refused the change"),  // SQLITE_CONSTRAINT_CHECK
        (1, "storageFailure", "SQLite failed"),  // SQLITE_ERROR
    ])
    func resultCodesMapHonestly(_ code: Int32, _ kind: String, _ text: String) {
        let error = SQLiteAllowlistStore.storeError(code: code, message: "detail", path: "data/unibus.db")
        let message = "\(error)"
        #expect(Self.kind(error) == kind, "\(code): \(Self.kind(error))")
        #expect(message.contains(text) && message.contains("data/unibus.db"), "\(code): \(message)")
        #expect(!message.contains("conflicting concurrent update") || kind == "conflict", "\(code): \(message)")
    }

    static func kind(_ error: StoreError) -> String {
        switch error {
        case .unavailable: "unavailable"
        case .cannotOpen: "cannotOpen"
        case .storageFailure: "storageFailure"
        case .conflict: "conflict"
        default: "other: \(error)"
        }
    }
}
