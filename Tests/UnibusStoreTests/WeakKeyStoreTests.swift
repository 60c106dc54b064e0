import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusStoreKV
import UnibusStoreSQLite
import UnibusTestSupport

/// Keys that are not canonical points of large order: refused by `addUser`, and when found in a
/// store (written before keys were checked) still readable but left out of the ACL and reported.
@Suite("stores: weak sign-pubs")
struct WeakKeyStoreTests {
    static let identity = "01" + String(repeating: "0", count: 62)
    static let order8 = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
    static let yIsP = "ed" + String(repeating: "f", count: 60) + "7f"

    static func weakUser(_ hex: String = order8) throws -> User {
        User(signPub: try SignPub(hex: hex), handle: try Handle("mal"), role: .admin, createdAt: Fixture.epoch)
    }

    @Test(arguments: StoreKind.allCases)
    func addUserRefusesWeakKeys(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        for key in [Self.identity, Self.order8, Self.yIsP] {
            await #expect(throws: ValidationError.self) { try await h.store.addUser(try Self.weakUser(key)) }
        }
        #expect(try await h.store.users().isEmpty)
    }

    /// Checks what the ACL sees once `mal` (weak key, member of a room) is stored beside `ana`.
    static func expectLeftOutAndReported(_ store: any AllowlistStore) async throws {
        let mal = try Self.weakUser()
        #expect(try await store.user(mal.signPub)?.handle == mal.handle)  // still readable, so it can be listed
        let (snapshot, problems) = try await store.aclSnapshot(internalNkey: "UINTERNAL")
        #expect(snapshot.users.map(\.handle.value) == ["ana"])
        #expect(!snapshot.members.contains { $0.signPub == mal.signPub })
        #expect(problems.count == 1)
        #expect(problems.first?.contains("user mal left out of the ACL") == true, "\(problems)")
        #expect(problems.first?.contains("small-order point (order 8)") == true, "\(problems)")
    }

    @Test func aWeakUserStoredInSQLiteIsLeftOutOfTheACL() async throws {
        let dir = TempDirectory("weak-sqlite")
        let path = dir.file("unibus.db")
        let store = try SQLiteAllowlistStore(path: path)
        let ana = Fixture.user("ana", 1, role: .admin)
        try await store.addUser(ana)
        let insert = "INSERT INTO users VALUES ('\(Self.order8)', 'mal', 'admin', 'active', 1764000000, NULL);"
        try await Command("/usr/bin/sqlite3", [path, insert]).succeed()
        try await store.createRoom(Room(id: try RoomID("r"), createdBy: ana.signPub, createdAt: Fixture.epoch))
        try await store.putMember(Member(room: try RoomID("r"), signPub: try SignPub(hex: Self.order8), role: .member, addedAt: Fixture.epoch))
        try await Self.expectLeftOutAndReported(store)
    }

    @Test func aWeakUserStoredInKVIsLeftOutOfTheACL() async throws {
        let world = try await KVWorld()
        let ana = Fixture.user("ana", 1, role: .admin)
        try await world.store.addUser(ana)
        let mal = #"{"created_at":1764000000,"handle":"mal","role":"admin","sign_pub":"\#(Self.order8)","status":"active"}"#
        _ = try await world.store.bucket(.users).put(Self.order8, value: Data(mal.utf8))
        try await world.store.createRoom(Room(id: try RoomID("r"), createdBy: ana.signPub, createdAt: Fixture.epoch))
        try await world.store.putMember(Member(room: try RoomID("r"), signPub: try SignPub(hex: Self.order8), role: .member, addedAt: Fixture.epoch))
        try await Self.expectLeftOutAndReported(world.store)
    }
}

extension WeakKeyStoreTests {
    /// migrate-to-kv and export copy with AllowlistCopy: a weak user, the rooms they created and
    /// their memberships are not copied but reported; everything else is.
    @Test func aCopyLeavesWeakUsersBehindAndReportsThem() async throws {
        let dir = TempDirectory("weak-copy")
        let source = try SQLiteAllowlistStore(path: dir.file("source.db"))
        let ana = Fixture.user("ana", 1, role: .admin)
        try await source.addUser(ana)
        let insert = "INSERT INTO users VALUES ('\(Self.order8)', 'mal', 'admin', 'active', 1764000000, NULL);"
        try await Command("/usr/bin/sqlite3", [dir.file("source.db"), insert]).succeed()
        let mal = try Self.weakUser()
        try await source.createRoom(Room(id: try RoomID("anas"), createdBy: ana.signPub, createdAt: Fixture.epoch))
        try await source.createRoom(Room(id: try RoomID("mals"), createdBy: mal.signPub, createdAt: Fixture.epoch))
        try await source.putMember(Member(room: try RoomID("anas"), signPub: mal.signPub, role: .member, addedAt: Fixture.epoch))
        let target = try SQLiteAllowlistStore(path: dir.file("target.db"))
        let copy = try await AllowlistCopy.run(from: source, to: target)
        #expect(copy.users.copied == 1 && copy.users.skipped.count == 1)
        #expect(copy.users.text.contains("mal (sign-pub \(Self.order8) is a small-order point (order 8)"), "\(copy.report)")
        #expect(copy.rooms.copied == 1 && copy.rooms.skipped.count == 1)
        #expect(try await target.users() == [ana])
        #expect(try await target.members(of: try RoomID("anas")).map(\.signPub) == [ana.signPub])
    }
}
