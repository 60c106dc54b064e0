import Foundation
import UnibusCore
import UnibusNats

/// Keys of the buckets (see ``KVAllowlistStore``'s table). Ids never contain a dot, so `.`
/// separates the parts unambiguously.
enum KVKey {
    static func user(_ key: SignPub) -> String { key.hex }
    static func handle(_ handle: Handle) -> String { "handle.\(handle.value)" }
    static func room(_ id: RoomID) -> String { id.value }
    static func member(_ room: RoomID, _ key: SignPub) -> String { "\(room.value).\(key.hex)" }
    /// The room's owner guard (see ``KVAllowlistStore``): never a room id, which has no dot.
    static func ownerGuard(_ room: RoomID) -> String { "\(room.value).owner-guard" }
    static func membersOf(_ room: RoomID) -> String { "\(room.value).*" }
    static func index(_ key: SignPub, _ room: RoomID) -> String { "\(key.hex).\(room.value)" }
    static func roomsOf(_ key: SignPub) -> String { "\(key.hex).*" }
    static func roomKey(_ room: RoomID, _ recipient: SignPub, _ epoch: Int64) -> String { "\(room.value).\(recipient.hex).\(epoch)" }
    static func roomKeysOf(_ room: RoomID, _ recipient: SignPub) -> String { "\(room.value).\(recipient.hex).*" }
    static func nonce(_ nonce: NonceValue) -> String { nonce.value }
}

/// JSON for values: snake_case keys (the storage records' own), dates as seconds since 1970 (exact
/// round trip, the SQLite store's unit), bytes as base64.
enum KVCodec {
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        // Our models always encode: a failure here is a programming error.
        return try! encoder.encode(value)
    }

    /// Decodes a stored value and checks it against its key; anything else is reported as
    /// `StoreError.corruptRecord` naming the bucket and key, never served.
    static func decode<T: Decodable>(
        _ type: T.Type, _ entry: NatsKVEntry, in bucket: KVAllowlistStore.Bucket, what: String,
        matches expectedKey: (T) -> String
    ) throws(StoreError) -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        let value: T
        do {
            value = try decoder.decode(T.self, from: entry.value)
        } catch {
            throw .corruptRecord("\(bucket.rawValue) key '\(entry.key)' is not a valid \(what): \(summary(error))")
        }
        let key = expectedKey(value)
        guard key == entry.key else {
            throw .corruptRecord("\(bucket.rawValue) key '\(entry.key)' holds a \(what) for key '\(key)'")
        }
        return value
    }

    /// One line about a decoding failure (never the whole value).
    static func summary(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "the value" : "field " + context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return "not valid JSON"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, _): return "missing field \(key.stringValue)"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        @unknown default: return "\(error)"
        }
    }
}

extension KVCodec {
    static func user(_ entry: NatsKVEntry) throws(StoreError) -> User {
        try decode(StoredUser.self, entry, in: .users, what: "user") { KVKey.user($0.signPub) }.user
    }

    static func reservation(_ entry: NatsKVEntry, _ handle: Handle) throws(StoreError) -> HandleReservation {
        try decode(HandleReservation.self, entry, in: .users, what: "handle reservation") { _ in KVKey.handle(handle) }
    }

    static func room(_ entry: NatsKVEntry) throws(StoreError) -> Room {
        try decode(StoredRoom.self, entry, in: .rooms, what: "room") { KVKey.room($0.id) }.room
    }

    static func member(_ entry: NatsKVEntry) throws(StoreError) -> Member {
        try decode(StoredMember.self, entry, in: .members, what: "membership") { KVKey.member($0.room, $0.signPub) }.member
    }

    static func ownerGuard(_ entry: NatsKVEntry, _ room: RoomID) throws(StoreError) -> OwnerGuard {
        try decode(OwnerGuard.self, entry, in: .rooms, what: "owner guard") { _ in KVKey.ownerGuard(room) }
    }

    static func index(_ entry: NatsKVEntry) throws(StoreError) -> MembershipIndex {
        try decode(MembershipIndex.self, entry, in: .roomsByMember, what: "rooms-by-member entry") { KVKey.index($0.signPub, $0.room) }
    }

    /// Room keys are re-validated (epoch range, size): see ``StoredRoomKey/roomKey()``.
    static func roomKey(_ entry: NatsKVEntry) throws(StoreError) -> RoomKey {
        let stored = try decode(StoredRoomKey.self, entry, in: .roomKeys, what: "room key") { KVKey.roomKey($0.room, $0.recipient, $0.epoch) }
        do {
            return try stored.roomKey()
        } catch {
            throw .corruptRecord("\(KVAllowlistStore.Bucket.roomKeys.rawValue) key '\(entry.key)' is not a valid room key: \(error)")
        }
    }

    /// The stored form of each record (see KVStoredRecords.swift).
    static func encode(_ user: User) -> Data { encode(StoredUser(user)) }
    static func encode(_ room: Room) -> Data { encode(StoredRoom(room)) }
    static func encode(_ member: Member) -> Data { encode(StoredMember(member)) }
    static func encode(_ key: RoomKey) -> Data { encode(StoredRoomKey(key)) }
}

/// The bucket calls the store makes, with failures as `StoreError`.
extension NatsKeyValue {
    /// A read is idempotent: one that times out (the server busy reloading a large ACL, say) is
    /// tried twice more before the caller is told the store is unavailable.
    func fetch(_ key: String) async throws(StoreError) -> NatsKVEntry? {
        var attempt = 1
        while true {
            do throws(NatsKVError) {
                return try await get(key)
            } catch .unavailable where attempt < 3 {
                attempt += 1
            } catch {
                throw KVAllowlistStore.storeError(error)
            }
        }
    }

    func write(_ key: String, value: Data) async throws(StoreError) -> UInt64 {
        do throws(NatsKVError) { return try await put(key, value: value) } catch { throw KVAllowlistStore.writeError(error) }
    }

    func list() async throws(StoreError) -> [NatsKVEntry] {
        do throws(NatsKVError) { return try await entries() } catch { throw KVAllowlistStore.storeError(error) }
    }

    func list(matching pattern: String) async throws(StoreError) -> [NatsKVEntry] {
        do throws(NatsKVError) { return try await entries(matching: pattern) } catch { throw KVAllowlistStore.storeError(error) }
    }
}
