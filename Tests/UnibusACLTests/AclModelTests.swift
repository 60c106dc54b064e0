import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

@testable import UnibusACL

/// The model renders exactly what the full renderer renders, however it got there.
@Suite("ACL model: per-user entries")
struct AclModelTests {
    static let internalNkey = Fixture.keyPair(99).nkey
    static let head = "# head\n" + (try! AuthorizationRenderer.head(internalNkey: internalNkey))

    static func full(_ users: [User], _ members: [Member]) throws -> String {
        "# head\n" + (try AuthorizationRenderer.render(AllowlistSnapshot(users: users, members: members, internalNkey: internalNkey)))
    }

    static let users = (0..<40).map { Fixture.user("u\(String(format: "%02d", 39 - $0))", $0 + 1, role: $0 % 5 == 0 ? .admin : .member) }
    static let members = users.enumerated().flatMap { i, user in
        (0..<(i % 4)).map { Fixture.member("room\($0)", user) }
    }

    @Test func aLoadedSnapshotRendersByteForByteLikeTheFullRenderer() throws {
        var model = AclModel(internalNkey: Self.internalNkey)
        model.load(ACLRecords(users: Self.users.shuffled(), members: Self.members.shuffled()), at: AclPosition(["s": 1]))
        #expect(model.text(head: Self.head) == (try Self.full(Self.users, Self.members)))
        #expect(model.renderedUsers == 40)
    }

    @Test func changesAppliedOneByOneEndWhereAFreshRenderOfTheResultIs() throws {
        var model = AclModel(internalNkey: Self.internalNkey)
        model.load(ACLRecords(users: [], members: []), at: AclPosition(["s": 0]))
        var seq: UInt64 = 0
        for user in Self.users {
            seq += 1
            model.apply([.user(user)], at: AclPosition(["s": seq]))
        }
        for member in Self.members {
            seq += 1
            model.apply([.membership(room: member.room, signPub: member.signPub, present: true)], at: AclPosition(["s": seq]))
        }
        #expect(model.text(head: Self.head) == (try Self.full(Self.users, Self.members)))
        // revoke three, remove some memberships, replace one user's rooms
        var users = Self.users
        var members = Self.members
        for i in [3, 17, 30] {
            users[i].status = .revoked
            model.apply([.user(users[i])], at: AclPosition(["s": seq]))
        }
        let removed = members.removeFirst()
        model.apply([.membership(room: removed.room, signPub: removed.signPub, present: false)], at: AclPosition(["s": seq]))
        let target = users[9].signPub
        members.removeAll { $0.signPub == target }
        members.append(Fixture.member("elsewhere", users[9]))
        model.apply([.rooms(of: target, [try RoomID("elsewhere")])], at: AclPosition(["s": seq + 1]))
        #expect(model.text(head: Self.head) == (try Self.full(users, members)))
        #expect(model.position == AclPosition(["s": seq + 1]))
    }

    @Test func takingRightsAwayIsCountedAndGrantingIsNot() throws {
        var model = AclModel(internalNkey: Self.internalNkey)
        model.load(ACLRecords(users: Array(Self.users.prefix(3)), members: []), at: AclPosition())
        let before = model.takeAways
        let revision = model.revision
        model.apply([.membership(room: try RoomID("a"), signPub: Self.users[0].signPub, present: true)], at: AclPosition())
        model.apply([.user(Self.users[5])], at: AclPosition())
        #expect(model.takeAways == before)
        #expect(model.revision == revision + 2)
        model.apply([.membership(room: try RoomID("a"), signPub: Self.users[0].signPub, present: false)], at: AclPosition())
        #expect(model.takeAways == before + 1)
        var revoked = Self.users[1]
        revoked.status = .revoked
        model.apply([.user(revoked)], at: AclPosition())
        #expect(model.takeAways == before + 2)
        // the same record again changes nothing
        let settled = model.revision
        model.apply([.user(revoked)], at: AclPosition())
        #expect(model.revision == settled)
    }

    @Test func positionsOnlyMoveForward() {
        var model = AclModel(internalNkey: Self.internalNkey)
        model.apply([], at: AclPosition(["users": 5, "members": 2]))
        model.apply([], at: AclPosition(["users": 3, "members": 4]))
        #expect(model.position == AclPosition(["users": 5, "members": 4]))
        #expect(model.position.covers(AclPosition(["users": 5])))
        #expect(!model.position.covers(AclPosition(["users": 6])))
    }

    @Test func weakKeysTheInternalIdentityAndUnreadableRecordsGrantNothingAndAreReported() throws {
        var model = AclModel(internalNkey: Self.internalNkey)
        let identity = try SignPub(hex: "01" + String(repeating: "0", count: 62))  // small order: the identity point
        let weak = User(signPub: identity, handle: try Handle("weak"), role: .member, createdAt: Fixture.epoch)
        let internalAsUser = Fixture.user("sneaky", 99)
        model.load(ACLRecords(users: [weak, internalAsUser, Self.users[0]], members: [], problems: ["bucket key x: corrupt"]), at: AclPosition())
        #expect(model.renderedUsers == 1)
        #expect(model.problems.count == 3, "\(model.problems)")
        #expect(!model.text(head: Self.head).contains(weak.nkey))
        model.apply([.unreadable(key: "members k", problem: "not a membership")], at: AclPosition())
        #expect(model.problems.count == 4)
        model.apply([.unreadable(key: "members k", problem: nil)], at: AclPosition())
        #expect(model.problems.count == 3)
    }

    @Test func aHandleHeldByTwoKeysRendersOnlyTheFirst() throws {
        var model = AclModel(internalNkey: Self.internalNkey)
        let first = Fixture.user("twin", 1)
        let second = User(signPub: Fixture.keyPair(2).signPub, handle: try Handle("twin"), role: .member, createdAt: Fixture.epoch)
        model.apply([.user(first)], at: AclPosition())
        model.apply([.user(second)], at: AclPosition())
        #expect(model.renderedUsers == 1)
        #expect(model.text(head: Self.head).contains(first.nkey) && !model.text(head: Self.head).contains(second.nkey))
        #expect(model.problems.contains { $0.contains("handle also held") })
    }
}
