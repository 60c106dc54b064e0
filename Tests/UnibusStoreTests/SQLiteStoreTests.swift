import Foundation
import Testing
import UnibusCore
import UnibusStoreSQLite
import UnibusTestSupport

/// What is particular to the SQLite file.
@Suite("SQLite store file")
struct SQLiteStoreTests {
    @Test func theDatabaseFileIsCreatedOwnerOnly() throws {
        let dir = TempDirectory()
        _ = try SQLiteAllowlistStore(path: dir.file("u.db"))
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("u.db"))[.posixPermissions] as! Int
        #expect(mode == 0o600)
    }

    @Test func theJournalIsWAL() async throws {
        let dir = TempDirectory()
        let s = try SQLiteAllowlistStore(path: dir.file("u.db"))
        try await s.addUser(Fixture.user("ana", 1))
        #expect(FileManager.default.fileExists(atPath: dir.file("u.db-wal")))
    }

    @Test func aMissingDirectoryIsRefused() {
        #expect(throws: StoreError.cannotOpen("directory /nonexistent-unibus does not exist; create it or choose another --db")) {
            try SQLiteAllowlistStore(path: "/nonexistent-unibus/u.db")
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndLeftAlone() throws {
        let dir = TempDirectory()
        let junk = Data(String(repeating: "this is not a database\n", count: 100).utf8)
        FileManager.default.createFile(atPath: dir.file("junk.db"), contents: junk)
        #expect(throws: StoreError.self) { try SQLiteAllowlistStore(path: dir.file("junk.db")) }
        #expect(FileManager.default.contents(atPath: dir.file("junk.db")) == junk)
    }

    @Test func aMissingFileIsRefusedWhenCreationIsNotAllowed() {
        let dir = TempDirectory()
        #expect(throws: StoreError.self) { try SQLiteAllowlistStore(path: dir.file("absent.db"), create: false) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.db")))
    }

    @Test func reopeningKeepsTheData() async throws {
        let dir = TempDirectory()
        try await SQLiteAllowlistStore(path: dir.file("u.db")).addUser(Fixture.user("ana", 1))
        #expect(try await SQLiteAllowlistStore(path: dir.file("u.db")).users().map(\.handle.value) == ["ana"])
    }
}
