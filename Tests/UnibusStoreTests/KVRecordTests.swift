import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusTestSupport

/// Values in the KV that are not what unibus wrote: reported as `corruptRecord`, never served.
@Suite("KV store: corrupt values")
struct KVRecordTests {
    static let ana = Fixture.user("ana", 1, role: .admin)
    static let bob = Fixture.user("bob", 2)

    /// Puts `text` under `key` in `bucket` behind the store's back.
    static func plant(_ world: KVWorld, _ bucket: KVAllowlistStore.Bucket, _ key: String, _ text: String) async throws {
        _ = try await world.store.bucket(bucket).put(key, value: Data(text.utf8))
    }

    static func expectCorrupt(_ mentioning: [String], _ body: () async throws -> Void) async {
        let error = await storeError(body)
        guard case .corruptRecord(let message) = error else { Issue.record("expected corruptRecord, got \(String(describing: error))"); return }
        for text in mentioning { #expect(message.contains(text), "\(message)") }
    }

    @Test func aUserValueThatIsNotJSONIsReportedNotServed() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        try await Self.plant(world, .users, Self.ana.signPub.hex, "{not json")
        let what = ["UNIBUS_users key '\(Self.ana.signPub.hex)'", "not valid JSON"]
        await Self.expectCorrupt(what) { _ = try await world.store.user(Self.ana.signPub) }
        await Self.expectCorrupt(what) { _ = try await world.store.user(handle: Self.ana.handle) }
        await Self.expectCorrupt(what) { _ = try await world.store.users() }
        await Self.expectCorrupt(what) { try await world.store.createRoom(Fixture.room("r", by: Self.ana)) }
    }

    @Test func aUserValueThatFailsValidationIsReportedNotServed() async throws {
        let world = try await KVWorld()
        let key = Self.bob.signPub.hex
        let bad = #"{"created_at":1764000000,"handle":"Bad Handle","role":"member","sign_pub":"\#(key)","status":"active"}"#
        try await Self.plant(world, .users, key, bad)
        await Self.expectCorrupt(["UNIBUS_users key '\(key)'", "field handle", "invalid handle"]) { _ = try await world.store.user(Self.bob.signPub) }
        let unknownRole = bad.replacingOccurrences(of: "Bad Handle", with: "bob").replacingOccurrences(of: "\"member\"", with: "\"root\"")
        try await Self.plant(world, .users, key, unknownRole)
        await Self.expectCorrupt(["field role"]) { _ = try await world.store.users() }
    }

    @Test func aRecordUnderAnotherKeyIsReported() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        let anaJSON = try #require(try await world.store.bucket(.users).get(Self.ana.signPub.hex)).value
        _ = try await world.store.bucket(.users).put(Self.bob.signPub.hex, value: anaJSON)
        await Self.expectCorrupt(["key '\(Self.bob.signPub.hex)' holds a user for key '\(Self.ana.signPub.hex)'"]) {
            _ = try await world.store.user(Self.bob.signPub)
        }
    }

    @Test func aRoomKeyOutOfRangeIsReported() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        try await world.store.createRoom(Fixture.room("general", by: Self.ana))
        let key = "general.\(Self.ana.signPub.hex).5"
        let value = #"{"created_at":1764000000,"epoch":5,"recipient":"\#(Self.ana.signPub.hex)","room":"general","wrapped":""}"#
        try await Self.plant(world, .roomKeys, key, value)
        await Self.expectCorrupt(["UNIBUS_room_keys key '\(key)'", "wrapped key is empty"]) {
            _ = try await world.store.roomKeys(room: RoomID("general"), recipient: Self.ana.signPub)
        }
    }

    @Test func aCorruptMembershipIsReported() async throws {
        let world = try await KVWorld()
        try await world.store.addUser(Self.ana)
        try await world.store.createRoom(Fixture.room("general", by: Self.ana))
        try await Self.plant(world, .members, "general.\(Self.ana.signPub.hex)", "[]")
        await Self.expectCorrupt(["UNIBUS_members", "wrong type"]) { _ = try await world.store.members(of: RoomID("general")) }
        await Self.expectCorrupt(["UNIBUS_members"]) { _ = try await world.store.allMembers() }
    }
}
