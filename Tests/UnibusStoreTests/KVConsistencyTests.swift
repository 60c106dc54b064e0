import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusTestSupport

/// Rooms-by-member against members, nonces, revision-checked updates and the change feed.
@Suite("KV store: consistency")
struct KVConsistencyTests {
    static let ana = Fixture.user("ana", 1, role: .admin)
    static let bob = Fixture.user("bob", 2)
    static let general = try! RoomID("general")

    static func seeded(_ configuration: KVStoreConfiguration = KVStoreConfiguration()) async throws -> KVWorld {
        let world = try await KVWorld(configuration)
        try await world.store.addUser(ana)
        try await world.store.addUser(bob)
        try await world.store.createRoom(Fixture.room("general", by: ana))
        return world
    }

    static var indexKey: String { "\(bob.signPub.hex).general" }
    static var memberKey: String { "general.\(bob.signPub.hex)" }

    @Test("crash in putMember after the index write: the room is not shown, the entry is repaired")
    func crashAfterTheIndexWrite() async throws {
        let world = try await Self.seeded()
        // putMember writes the index entry first; the process dies before the membership.
        let index = #"{"room":"general","sign_pub":"\#(Self.bob.signPub.hex)"}"#
        _ = try await world.store.bucket(.roomsByMember).put(Self.indexKey, value: Data(index.utf8))

        #expect(try await world.store.rooms(ofMember: Self.bob.signPub) == [])
        #expect(try await world.store.members(of: Self.general).map(\.signPub) == [Self.ana.signPub])
        #expect(try await world.store.bucket(.roomsByMember).get(Self.indexKey) == nil)  // repaired on read
        // Running the command again completes it.
        try await world.store.putMember(Fixture.member("general", Self.bob))
        #expect(try await world.store.rooms(ofMember: Self.bob.signPub) == [Self.general])
    }

    @Test("crash in removeMember after the membership delete: the room is not shown, the entry is repaired")
    func crashAfterTheMembershipDelete() async throws {
        let world = try await Self.seeded()
        try await world.store.putMember(Fixture.member("general", Self.bob))
        // removeMember deletes the membership first; the process dies before the index entry.
        try await world.store.bucket(.members).delete(Self.memberKey)

        #expect(try await world.store.rooms(ofMember: Self.bob.signPub) == [])
        #expect(try await world.store.bucket(.roomsByMember).get(Self.indexKey) == nil)
        await #expect(throws: StoreError.memberNotFound(room: "general", signPub: Self.bob.signPub.hex)) {
            try await world.store.removeMember(room: Self.general, signPub: Self.bob.signPub)
        }
    }

    @Test("put and remove racing on one membership from two nodes: the index always covers it")
    func racingPutAndRemoveKeepTheIndex() async throws {
        let world = try await Self.seeded()
        let other = try await KVAllowlistStore.connect(world.server.options(name: "other"))
        for round in 0..<15 {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await world.store.putMember(Fixture.member("general", Self.bob, round % 2 == 0 ? .member : .owner)) }
                group.addTask { try? await other.removeMember(room: Self.general, signPub: Self.bob.signPub) }
                group.addTask { try? await other.putMember(Fixture.member("general", Self.bob)) }
            }
            let isMember = try await world.store.bucket(.members).get(Self.memberKey) != nil
            let indexed = try await world.store.bucket(.roomsByMember).get(Self.indexKey) != nil
            #expect(!isMember || indexed, "round \(round): a membership without its index entry")
            #expect(try await other.rooms(ofMember: Self.bob.signPub) == (isMember ? [Self.general] : []))
        }
    }

    @Test("concurrent role changes and revokes from two nodes: every one lands, none is lost")
    func revisionCheckedUpdatesRetry() async throws {
        let world = try await Self.seeded()
        let other = try await KVAllowlistStore.connect(world.server.options(name: "other"))
        let users = (10..<30).map { Fixture.user("u\($0)", $0) }
        for user in users { try await world.store.addUser(user) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, user) in users.enumerated() {
                let store = i % 2 == 0 ? world.store : other
                group.addTask { _ = try await store.revokeUser(user.signPub, at: Fixture.epoch + 1) }
                group.addTask { _ = try await (i % 2 == 0 ? other : world.store).revokeUser(user.signPub, at: Fixture.epoch + 2) }
                group.addTask { try await store.putMember(Fixture.member("general", Self.bob, i % 2 == 0 ? .owner : .member)) }
            }
            try await group.waitForAll()
        }
        let revoked = try await other.users().filter { $0.status == .revoked }
        #expect(revoked.count == users.count)
        #expect(revoked.allSatisfy { $0.revokedAt == Fixture.epoch + 1 || $0.revokedAt == Fixture.epoch + 2 })
    }

    /// A guard left by a writer that died. Its server timestamp is never compared with this
    /// node's clock (a node whose clock runs ahead would take over a fresh guard): a node takes it
    /// over only once it has itself seen it held, unchanged, for the grace period.
    @Test("a held owner guard is taken over only after this node has seen it held for the grace, whatever its timestamp")
    func aHeldOwnerGuardIsTakenOverByLocalTimeOnly() async throws {
        let world = try await Self.seeded()
        try await world.store.putMember(Fixture.member("general", Self.bob, .owner))
        let guardKey = "general.owner-guard"
        _ = try await world.store.bucket(.rooms).put(guardKey, value: Data(#"{"changing":"\#(Self.ana.signPub.hex)"}"#.utf8))

        // With the default 30 s grace, a writer that waits 2 s is refused, told how long and when.
        let impatient = try await KVAllowlistStore.connect(
            world.server.options(name: "impatient"), configuration: KVStoreConfiguration(wait: .seconds(2)))
        let refused = await storeError { try await impatient.putMember(Fixture.member("general", Self.bob, .member)) }
        guard case .conflict(let why) = refused else { Issue.record("expected a conflict, got \(String(describing: refused))"); return }
        #expect(why.contains("'general.owner-guard' held for at least ") && why.contains("seen held for 30 s: retry after "), "\(why)")

        // The guard is now older than a 2 s grace by the server's clock; a node that has not seen
        // it yet still waits its own 2 s before taking it over.
        try await Task.sleep(for: .seconds(2.5))
        let other = try await KVAllowlistStore.connect(
            world.server.options(name: "other"), configuration: KVStoreConfiguration(ownerGuardGrace: .seconds(2)))
        let started = ContinuousClock.now
        try await other.putMember(Fixture.member("general", Self.bob, .member))
        #expect(ContinuousClock.now - started >= .seconds(2))
        let roles = Dictionary(uniqueKeysWithValues: try await world.store.members(of: Self.general).map { ($0.signPub, $0.role) })
        #expect(roles == [Self.ana.signPub: .owner, Self.bob.signPub: .member])
        // and it released the guard: the next owner change does not wait
        try await other.putMember(Fixture.member("general", Self.bob, .owner))
        let quick = ContinuousClock.now
        try await other.putMember(Fixture.member("general", Self.ana, .member))
        #expect(ContinuousClock.now - quick < .seconds(2))
    }

    @Test func aNonceIsAWriteThatStaysUntilTheBucketMaxAgeExpiresIt() async throws {
        // 8 s: long enough that a loaded 2-core CI machine (suites run in parallel) still reads
        // the value before it expires (3 s was seen to expire first).
        let world = try await KVWorld(KVStoreConfiguration(nonceTTL: .seconds(8)))
        let nonce = try NonceValue("ttl-0123456789abcdef")
        let now = Date()
        #expect(try await world.store.consumeNonce(nonce, expiresAt: now + 3, now: now))
        let stored = try #require(try await world.store.bucket(.nonces).get(nonce.value))
        #expect(stored.operation == .put)  // a value, never a delete marker
        #expect(try await world.store.consumeNonce(nonce, expiresAt: now + 3, now: now) == false)
        // JetStream removes it after max age; then the value may be used again.
        #expect(
            await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                (try? await world.store.consumeNonce(nonce, expiresAt: Date() + 1, now: Date())) == true
            })
    }

    @Test func aNonceFailsClosedWhenTheServerIsGone() async throws {
        let world = try await KVWorld()
        await world.server.stop()
        let error = await storeError {
            _ = try await world.store.consumeNonce(try NonceValue("gone-0123456789abcdef"), expiresAt: Date() + 300, now: Date())
        }
        guard case .unavailable = error else { Issue.record("expected unavailable, got \(String(describing: error))"); return }
    }

    @Test func theChangeStreamDeliversWritesFromAnotherConnectionInOrder() async throws {
        let world = try await Self.seeded()
        let source = KVAclSource(store: world.store)
        let feed = AsyncRecorder(source.events(after: nil))
        #expect(await feed.count(atLeast: 1))
        guard case .snapshot(let records, let start) = feed.items[0] else { Issue.record("expected a snapshot first"); return }
        let headAtStart = try await source.head()
        #expect(records.users.count == 2 && start.covers(headAtStart))
        let other = try await KVAllowlistStore.connect(world.server.options(name: "cli"))
        _ = try await other.revokeUser(Self.bob.signPub, at: Fixture.epoch)
        try await other.createRoom(Fixture.room("ops", by: Self.ana))
        let head = try await source.head()
        #expect(await feed.contains(within: .seconds(5)) { if case .changes(_, let p) = $0 { p.covers(head) } else { false } })
        let changes: [AclChange] = feed.items.flatMap { (event: AclFeedEvent) -> [AclChange] in
            if case .changes(let c, _) = event { c } else { [] }
        }
        let revoked = changes.contains { (change: AclChange) -> Bool in
            if case .user(let u) = change { u.signPub == Self.bob.signPub && u.status == .revoked } else { false }
        }
        #expect(revoked)
        let joined = AclChange.membership(room: try RoomID("ops"), signPub: Self.ana.signPub, present: true)
        #expect(changes.contains(joined))
    }
}
