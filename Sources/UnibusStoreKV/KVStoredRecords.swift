import Foundation
import UnibusCore

// The storage format of the KV buckets' values, kept apart from the core models and from the
// HTTP API's JSON so that neither can change what is stored by accident. Existing clusters hold
// these bytes: a field is renamed or retyped only together with a reader of the old form.
// `KVStorageFormatTests` pins the exact JSON of each value (through `KVCodec`: keys sorted,
// dates as seconds since 1970, bytes as base64).
//
// Format version 1 carries no version field (adding one would change every stored value);
// a later format adds one, and its absence then means version 1.

/// `UNIBUS_users` `<sign-pub hex>`:
/// `{"created_at","handle","revoked_at"?,"role","sign_pub","status"}`.
struct StoredUser: Codable, Equatable {
    var signPub: SignPub
    var handle: Handle
    var role: Role
    var status: UserStatus
    var createdAt: Date
    /// Absent (not null) while the user is active.
    var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case signPub = "sign_pub", handle, role, status, createdAt = "created_at", revokedAt = "revoked_at"
    }

    init(_ user: User) {
        signPub = user.signPub
        handle = user.handle
        role = user.role
        status = user.status
        createdAt = user.createdAt
        revokedAt = user.revokedAt
    }

    var user: User {
        User(signPub: signPub, handle: handle, role: role, status: status, createdAt: createdAt, revokedAt: revokedAt)
    }
}

/// `UNIBUS_rooms` `<room>`: `{"created_at","created_by","id"}`.
struct StoredRoom: Codable, Equatable {
    var id: RoomID
    var createdBy: SignPub
    var createdAt: Date

    enum CodingKeys: String, CodingKey { case id, createdBy = "created_by", createdAt = "created_at" }

    init(_ room: Room) {
        id = room.id
        createdBy = room.createdBy
        createdAt = room.createdAt
    }

    var room: Room { Room(id: id, createdBy: createdBy, createdAt: createdAt) }
}

/// `UNIBUS_members` `<room>.<sign-pub>`: `{"added_at","role","room","sign_pub"}`.
struct StoredMember: Codable, Equatable {
    var room: RoomID
    var signPub: SignPub
    var role: MemberRole
    var addedAt: Date

    enum CodingKeys: String, CodingKey { case room, signPub = "sign_pub", role, addedAt = "added_at" }

    init(_ member: Member) {
        room = member.room
        signPub = member.signPub
        role = member.role
        addedAt = member.addedAt
    }

    var member: Member { Member(room: room, signPub: signPub, role: role, addedAt: addedAt) }
}

/// `UNIBUS_room_keys` `<room>.<recipient>.<epoch>`:
/// `{"created_at","epoch","recipient","room","wrapped"}` (`wrapped` in base64).
struct StoredRoomKey: Codable, Equatable {
    var room: RoomID
    var recipient: SignPub
    var epoch: Int64
    var wrapped: Data
    var createdAt: Date

    enum CodingKeys: String, CodingKey { case room, recipient, epoch, wrapped, createdAt = "created_at" }

    init(_ key: RoomKey) {
        room = key.room
        recipient = key.recipient
        epoch = key.epoch
        wrapped = key.wrapped
        createdAt = key.createdAt
    }

    /// Validated through `RoomKey`'s throwing initialiser (epoch range, size): decoding alone
    /// accepts any epoch or byte count.
    func roomKey() throws(ValidationError) -> RoomKey {
        try RoomKey(room: room, recipient: recipient, epoch: epoch, wrapped: wrapped, createdAt: createdAt)
    }
}

/// `UNIBUS_users` `handle.<handle>`: which sign-pub holds the handle, `{"sign_pub"}`.
struct HandleReservation: Codable, Equatable {
    var signPub: SignPub
    enum CodingKeys: String, CodingKey { case signPub = "sign_pub" }
}

/// `UNIBUS_rooms_by_member` `<sign-pub>.<room>`: `{"room","sign_pub"}`.
struct MembershipIndex: Codable, Equatable {
    var room: RoomID
    var signPub: SignPub
    enum CodingKeys: String, CodingKey { case room, signPub = "sign_pub" }
}

/// `UNIBUS_rooms` `<room>.owner-guard`: the member whose ownership is being changed, or
/// nobody (free): `{"changing"}` or `{}`.
struct OwnerGuard: Codable, Equatable {
    var changing: SignPub?
    enum CodingKeys: String, CodingKey { case changing }
}

/// `UNIBUS_nonces` `<nonce>`: a consumed nonce, `{"expires_at"}` (informational: it leaves
/// through the bucket's max age).
struct NonceRecord: Codable, Equatable {
    var expiresAt: Date
    enum CodingKeys: String, CodingKey { case expiresAt = "expires_at" }
}
