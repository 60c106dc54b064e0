import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

@Suite("ACL rendering")
struct AuthorizationRendererTests {
    static let internalNkey = Fixture.keyPair(999).nkey

    static var sample: AllowlistSnapshot {
        let ana = Fixture.user("ana", 1, role: .admin)
        let bob = Fixture.user("bob", 2)
        var eve = Fixture.user("eve", 3)
        eve.status = .revoked
        let dan = Fixture.user("dan", 4)  // in no room
        return AllowlistSnapshot(
            users: [eve, bob, dan, ana],  // order of input must not matter
            members: [
                Fixture.member("ops", bob), Fixture.member("general", ana, .owner), Fixture.member("general", bob),
                Fixture.member("general", eve), Fixture.member("ops", ana, .owner),
            ],
            internalNkey: internalNkey)
    }

    @Test("rendering matches the golden file")
    func goldenFile() throws {
        let rendered = try AuthorizationRenderer.render(Self.sample)
        let url = Bundle.module.url(forResource: "Fixtures/authorization-golden", withExtension: "conf")!
        let golden = try String(contentsOf: url, encoding: .utf8)
        if rendered != golden {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("authorization-actual.conf")
            try rendered.write(to: out, atomically: true, encoding: .utf8)
            Issue.record("rendered ACL differs from the golden file; actual output written to \(out.path)")
        }
    }

    @Test func inputOrderDoesNotChangeOutput() throws {
        var shuffled = Self.sample
        shuffled.users.reverse()
        shuffled.members.reverse()
        #expect(try AuthorizationRenderer.render(shuffled) == AuthorizationRenderer.render(Self.sample))
    }

    @Test func revokedUsersAreAbsent() throws {
        let text = try AuthorizationRenderer.render(Self.sample)
        #expect(!text.contains(Fixture.user("eve", 3).nkey))
        #expect(!text.contains("eve"))
    }

    /// The internal identity alone is in UNIBUS (JetStream on); users are in ROOMS (no JetStream).
    @Test func internalIdentityAloneHasJetStream() throws {
        let text = try AuthorizationRenderer.render(Self.sample)
        let unibus = try #require(text.range(of: "  UNIBUS {"))
        let rooms = try #require(text.range(of: "  ROOMS {"))
        let internalBlock = text[unibus.upperBound..<rooms.lowerBound]
        #expect(internalBlock.contains("jetstream: enabled") && internalBlock.contains(Self.internalNkey))
        #expect(!internalBlock.contains("permissions") && internalBlock.components(separatedBy: "nkey:").count == 2)
        let usersBlock = text[rooms.upperBound...]
        #expect(!usersBlock.contains("jetstream") && !usersBlock.contains(Self.internalNkey))
        #expect(!AuthorizationRenderer.users(Self.sample).contains { $0.nkey == Self.internalNkey })
    }

    /// `allow_responses` lets whoever sets a reply subject pick where the responder publishes.
    @Test func noUserMayAnswerWhereTheRequesterChooses() throws {
        #expect(!(try AuthorizationRenderer.render(Self.sample)).contains("allow_responses"))
        #expect(!(try AuthorizationRenderer.renderOpen(internalNkey: Self.internalNkey)).contains("allow_responses"))
    }

    @Test func userInNoRoomMayOnlyAnswerRequests() {
        let dan = AuthorizationRenderer.users(Self.sample).first { $0.comment.hasPrefix("dan") }!.permissions!
        #expect(dan.publish == SubjectPermission(allow: ["_INBOX.*.>"]))
        #expect(dan.subscribe == SubjectPermission(allow: ["_INBOX.dan.>"]))
    }

    @Test func busAuthOffStillKeepsJetStreamFromClients() throws {
        let text = try AuthorizationRenderer.renderOpen(internalNkey: Self.internalNkey)
        #expect(text.contains("no_auth_user: \"anonymous\""))
        let rooms = try #require(text.range(of: "  ROOMS {"))
        #expect(!text[rooms.upperBound...].contains("jetstream"))
    }

    @Test func refusesAnInvalidInternalNkey() {
        var s = Self.sample
        s.internalNkey = "U\"}\nauthorization {"
        #expect(throws: RenderError.self) { try AuthorizationRenderer.render(s) }
        s.internalNkey = Fixture.user("ana", 1).nkey  // same key as a user
        #expect(throws: RenderError.duplicateNkey(s.internalNkey)) { try AuthorizationRenderer.render(s) }
    }

    @Test(
        "subject syntax check",
        arguments: [
            ("unibus.room.a", true), ("unibus.room.a.>", true), ("_INBOX.ana.>", true), (">", true), ("a.*.b", true),
            ("", false), ("a..b", false), ("a.>.b", false), ("a\"b", false), ("a b", false), ("a\nb", false), ("a}", false),
        ])
    func subjectSyntax(_ subject: String, _ valid: Bool) {
        #expect(SubjectSyntax.isValidPermissionSubject(subject) == valid)
    }

    /// Random allowlists: every user's rights are exactly its rooms and its inbox, never more.
    @Test("property: no user ever gets another room, another inbox to read, >, $JS or $SYS", arguments: 0..<40)
    func noUserGetsMoreThanItsRooms(_ seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed))
        let rooms = (0..<Int.random(in: 1...8, using: &rng)).map { "r\($0)" }
        var users: [User] = []
        var members: [Member] = []
        for i in 0..<Int.random(in: 1...20, using: &rng) {
            var u = Fixture.user("u\(i)", i, role: Bool.random(using: &rng) ? .admin : .member)
            if Int.random(in: 0..<4, using: &rng) == 0 { u.status = .revoked }
            users.append(u)
            for r in rooms where Bool.random(using: &rng) { members.append(Fixture.member(r, u)) }
        }
        let snapshot = AllowlistSnapshot(users: users, members: members, internalNkey: Self.internalNkey)
        let text = try AuthorizationRenderer.render(snapshot)
        let entries = AuthorizationRenderer.users(snapshot)
        #expect(entries.count == users.filter { $0.status == .active }.count)
        for user in users {
            let entry = entries.first { $0.nkey == user.nkey }
            guard user.status == .active else {
                #expect(entry == nil && !text.contains(user.nkey))
                continue
            }
            let p = try #require(entry?.permissions)
            let mine = Set(members.filter { $0.signPub == user.signPub }.map(\.room.value))
            let roomSubjects = Set(mine.flatMap { ["unibus.room.\($0)", "unibus.room.\($0).>"] })
            #expect(Set(p.publish.allow) == roomSubjects.union(["_INBOX.*.>"]))
            #expect(Set(p.subscribe.allow) == roomSubjects.union(["_INBOX.\(user.handle).>"]))
            for s in p.publish.allow + p.subscribe.allow where s != "_INBOX.*.>" {
                #expect(s != ">" && !s.hasPrefix("$") && !s.contains("*"))
            }
            #expect(p.publish.deny.isEmpty && p.subscribe.deny.isEmpty)
        }
    }
}

/// SplitMix64: a small deterministic generator for property tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
