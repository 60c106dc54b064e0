import Foundation
import Testing
import UnibusCore
import UnibusStoreSQLite
import UnibusTestSupport

/// `migrate-to-kv` (SQLite → KV) and `export` copy with AllowlistCopy: from a SQLite store into
/// each kind of store.
@Suite("AllowlistCopy: rooms keep the members and roles of the source")
struct AllowlistCopyTests {
    static let ana = Fixture.user("ana", 1, role: .admin)
    static let bob = Fixture.user("bob", 2)
    static let cat = Fixture.user("cat", 3)
    static let dan = Fixture.user("dan", 4)

    static func roles(_ store: any AllowlistStore, _ room: String) async throws -> [String: MemberRole] {
        var roles: [String: MemberRole] = [:]
        for member in try await store.members(of: RoomID(room)) {
            roles[try await store.user(member.signPub)?.handle.value ?? member.signPub.hex] = member.role
        }
        return roles
    }

    @Test(
        "a creator who left stays out, a demoted creator stays a member, a revoked creator's room keeps its members and keys",
        arguments: StoreKind.allCases)
    func roomsAreCopiedWithTheSourceRoles(_ kind: StoreKind) async throws {
        let dir = TempDirectory("copy-source")
        let source = try SQLiteAllowlistStore(path: dir.file("source.db"))
        for user in [Self.ana, Self.bob, Self.cat, Self.dan] { try await source.addUser(user) }
        // ana created "left", made bob an owner and left
        try await source.createRoom(Fixture.room("left", by: Self.ana))
        try await source.putMember(Fixture.member("left", Self.bob, .owner))
        try await source.removeMember(room: RoomID("left"), signPub: Self.ana.signPub)
        // ana created "demoted", made bob an owner and was made a plain member
        try await source.createRoom(Fixture.room("demoted", by: Self.ana))
        try await source.putMember(Fixture.member("demoted", Self.bob, .owner))
        try await source.putMember(Fixture.member("demoted", Self.ana, .member))
        // dan created "orphan" (cat an owner, bob a member, both with keys), then dan was revoked
        try await source.createRoom(Fixture.room("orphan", by: Self.dan))
        try await source.putMember(Fixture.member("orphan", Self.cat, .owner))
        try await source.putMember(Fixture.member("orphan", Self.bob))
        for user in [Self.cat, Self.bob] {
            try await source.putRoomKey(
                RoomKey(room: RoomID("orphan"), recipient: user.signPub, epoch: 1, wrapped: Data([1, 2, 3]), createdAt: Fixture.epoch))
        }
        _ = try await source.revokeUser(Self.dan.signPub, at: Fixture.epoch)

        let h = try await StoreHarness(kind)
        let copy = try await AllowlistCopy.run(from: source, to: h.store)
        #expect(copy.users.copied == 4 && copy.rooms.copied == 3 && copy.rooms.skipped.isEmpty, "\(copy.report)")
        #expect(copy.members.copied == 5 && copy.members.skipped.count == 1, "\(copy.report)")  // dan's, revoked
        #expect(copy.keys.copied == 2 && copy.keys.skipped.isEmpty, "\(copy.report)")

        #expect(try await Self.roles(h.store, "left") == ["bob": .owner])
        #expect(try await Self.roles(h.store, "demoted") == ["bob": .owner, "ana": .member])
        #expect(try await Self.roles(h.store, "orphan") == ["cat": .owner, "bob": .member])
        #expect(try await h.store.room(RoomID("orphan")) == Fixture.room("orphan", by: Self.dan))
        #expect(try await h.store.rooms(ofMember: Self.ana.signPub) == [RoomID("demoted")])
        for user in [Self.cat, Self.bob] {
            #expect(try await h.store.roomKeys(room: RoomID("orphan"), recipient: user.signPub).map(\.epoch) == [1])
        }
        // ana creating "left" again does not make her its owner
        await #expect(throws: StoreError.roomExists("left")) { try await h.store.createRoom(Fixture.room("left", by: Self.ana)) }
        #expect(try await Self.roles(h.store, "left") == ["bob": .owner])

        // A re-run copies nothing and keeps what changed in the target since (ana promoted).
        try await h.store.putMember(Fixture.member("demoted", Self.ana, .owner))
        let again = try await AllowlistCopy.run(from: source, to: h.store)
        #expect(again.users.copied == 0 && again.rooms.copied == 0 && again.members.copied == 0 && again.keys.copied == 0, "\(again.report)")
        #expect(again.rooms.kept == 3 && again.members.kept == 5, "\(again.report)")
        #expect(try await Self.roles(h.store, "demoted") == ["bob": .owner, "ana": .owner])
    }
}
