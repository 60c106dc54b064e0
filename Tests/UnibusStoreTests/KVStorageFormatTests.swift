import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusTestSupport

/// The exact bytes of each bucket's values. Existing clusters hold them, so they never change
/// by accident (say with the API's JSON or a core model): each value the store writes is
/// compared with a golden string, and each golden string planted in a bucket is read back
/// into the record it stands for.
///
/// Format: keys sorted, dates as seconds since 1970 (exact, fractions kept), bytes as base64
/// with `/` escaped, an optional field absent (never `null`) when empty, no version field.
@Suite("KV store: storage format")
struct KVStorageFormatTests {
    static let ana = Fixture.user("ana", 1, role: .admin)
    static let bob = Fixture.user("bob", 2)
    static var a: String { ana.signPub.hex }
    static var b: String { bob.signPub.hex }
    /// A date with a fraction: stored exactly.
    static let later = Date(timeIntervalSince1970: 1_764_000_000.25)

    static func stored(_ world: KVWorld, _ bucket: KVAllowlistStore.Bucket, _ key: String) async throws -> String? {
        try await world.store.bucket(bucket).get(key).map { String(decoding: $0.value, as: UTF8.self) }
    }

    static func plant(_ world: KVWorld, _ bucket: KVAllowlistStore.Bucket, _ key: String, _ text: String) async throws {
        _ = try await world.store.bucket(bucket).put(key, value: Data(text.utf8))
    }

    // MARK: golden values

    static var activeAna: String {
        #"{"created_at":1764000000,"handle":"ana","role":"admin","sign_pub":"\#(a)","status":"active"}"#
    }
    static var revokedBob: String {
        #"{"created_at":1764000000,"handle":"bob","revoked_at":1764000000.25,"role":"member","sign_pub":"\#(b)","status":"revoked"}"#
    }
    static var bobReservation: String { #"{"sign_pub":"\#(b)"}"# }
    static var general: String { #"{"created_at":1764000000,"created_by":"\#(a)","id":"general"}"# }
    static var anaOwner: String { #"{"added_at":1764000000,"role":"owner","room":"general","sign_pub":"\#(a)"}"# }
    static var bobMember: String { #"{"added_at":1764000000.25,"role":"member","room":"general","sign_pub":"\#(b)"}"# }
    static var bobIndex: String { #"{"room":"general","sign_pub":"\#(b)"}"# }
    static var bobKey: String {
        #"{"created_at":1764000000.25,"epoch":7,"recipient":"\#(b)","room":"general","wrapped":"+\/+\/"}"#
    }
    static let freeGuard = "{}"
    static var heldGuard: String { #"{"changing":"\#(b)"}"# }
    static let nonce = #"{"expires_at":1764000000.25}"#

    // MARK: what the store writes

    @Test func usersAndHandleReservationsAreStoredByteForByte() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        try await world.store.addUser(Self.bob)
        _ = try await world.store.revokeUser(Self.bob.signPub, at: Self.later)
        #expect(try await Self.stored(world, .users, Self.a) == Self.activeAna)
        #expect(try await Self.stored(world, .users, Self.b) == Self.revokedBob)
        #expect(try await Self.stored(world, .users, "handle.bob") == Self.bobReservation)
    }

    @Test func roomsMembersIndexKeysGuardsAndNoncesAreStoredByteForByte() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        try await world.store.addUser(Self.bob)
        try await world.store.createRoom(Fixture.room("general", by: Self.ana))
        try await world.store.putMember(Member(room: try RoomID("general"), signPub: Self.bob.signPub, role: .owner, addedAt: Self.later))
        // a demotion takes an owner away: it runs under the room's owner guard, left free
        try await world.store.putMember(Member(room: try RoomID("general"), signPub: Self.bob.signPub, role: .member, addedAt: Fixture.epoch))
        let wrapped = Data([0xfb, 0xff, 0xbf])  // "+/+/" in base64
        try await world.store.putRoomKey(
            try RoomKey(room: RoomID("general"), recipient: Self.bob.signPub, epoch: 7, wrapped: wrapped, createdAt: Self.later))
        #expect(try await world.store.consumeNonce(try NonceValue("nonce-0123456789ab"), expiresAt: Self.later, now: Fixture.epoch))

        #expect(try await Self.stored(world, .rooms, "general") == Self.general)
        #expect(try await Self.stored(world, .rooms, "general.owner-guard") == Self.freeGuard)
        #expect(try await Self.stored(world, .members, "general.\(Self.a)") == Self.anaOwner)
        #expect(try await Self.stored(world, .members, "general.\(Self.b)") == Self.bobMember)
        #expect(try await Self.stored(world, .roomsByMember, "\(Self.b).general") == Self.bobIndex)
        #expect(try await Self.stored(world, .roomKeys, "general.\(Self.b).7") == Self.bobKey)
        #expect(try await Self.stored(world, .nonces, "nonce-0123456789ab") == Self.nonce)
    }

    // MARK: what the store reads

    @Test func goldenValuesAreReadBackAsTheRecordsTheyStandFor() async throws {
        let world = try await KVWorld(KVStoreConfiguration(wait: .milliseconds(300)))
        try await Self.plant(world, .users, Self.a, Self.activeAna)
        try await Self.plant(world, .users, "handle.ana", #"{"sign_pub":"\#(Self.a)"}"#)
        try await Self.plant(world, .users, Self.b, Self.revokedBob)
        try await Self.plant(world, .users, "handle.bob", Self.bobReservation)
        try await Self.plant(world, .rooms, "general", Self.general)
        try await Self.plant(world, .members, "general.\(Self.a)", Self.anaOwner)
        try await Self.plant(world, .roomsByMember, "\(Self.a).general", #"{"room":"general","sign_pub":"\#(Self.a)"}"#)
        try await Self.plant(world, .members, "general.\(Self.b)", Self.bobMember)
        try await Self.plant(world, .roomsByMember, "\(Self.b).general", Self.bobIndex)
        try await Self.plant(world, .roomKeys, "general.\(Self.b).7", Self.bobKey)
        try await Self.plant(world, .nonces, "nonce-0123456789ab", Self.nonce)
        let store = world.store
        let general = try RoomID("general")

        var revoked = Self.bob
        revoked.status = .revoked
        revoked.revokedAt = Self.later
        #expect(try await store.user(Self.ana.signPub) == Self.ana)
        #expect(try await store.user(handle: Handle("bob")) == revoked)
        #expect(try await store.users() == [Self.ana, revoked])
        #expect(try await store.room(general) == Fixture.room("general", by: Self.ana))
        #expect(
            try await store.members(of: general)
                == [
                    Member(room: general, signPub: Self.ana.signPub, role: .owner, addedAt: Fixture.epoch),
                    Member(room: general, signPub: Self.bob.signPub, role: .member, addedAt: Self.later),
                ].sorted { $0.signPub < $1.signPub })
        #expect(try await store.rooms(ofMember: Self.bob.signPub) == [general])
        #expect(
            try await store.roomKeys(room: general, recipient: Self.bob.signPub) == [
                try RoomKey(room: general, recipient: Self.bob.signPub, epoch: 7, wrapped: Data([0xfb, 0xff, 0xbf]), createdAt: Self.later)
            ])
        #expect(try await !store.consumeNonce(try NonceValue("nonce-0123456789ab"), expiresAt: Self.later, now: Fixture.epoch))

        // A held owner guard is read as held (the demotion waits, then reports a conflict);
        // a free one lets it through.
        try await store.addUser(Fixture.user("cat", 3))
        try await store.putMember(Member(room: general, signPub: Fixture.user("cat", 3).signPub, role: .owner, addedAt: Fixture.epoch))
        try await Self.plant(world, .rooms, "general.owner-guard", Self.heldGuard)
        let demote = Member(room: general, signPub: Self.ana.signPub, role: .member, addedAt: Fixture.epoch)
        let refused = await storeError { try await store.putMember(demote) }
        guard case .conflict(let why) = refused else { Issue.record("expected conflict, got \(String(describing: refused))"); return }
        #expect(why.contains("general.owner-guard"), "\(why)")
        try await Self.plant(world, .rooms, "general.owner-guard", Self.freeGuard)
        try await store.putMember(demote)
        #expect(try await store.members(of: general).first { $0.signPub == Self.ana.signPub }?.role == .member)
    }
}
