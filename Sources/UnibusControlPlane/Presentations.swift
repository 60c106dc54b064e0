import Foundation
import UnibusCore

// The HTTP API's JSON for records (contract section 4), kept apart from the core models and
// from what the stores write: changing one never changes the other. Encoded with
// `JSONEncoder.api` (keys sorted, ISO 8601 dates, unescaped slashes); users are
// ``UserPresentation`` (shared with `membershipd user list --json`). `APIRepresentationTests`
// pins these bodies.

/// A room: `{"created_at","created_by","id"}`.
struct RoomPresentation: Encodable {
    let room: Room
    init(_ room: Room) { self.room = room }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(room.id, forKey: .id)
        try c.encode(room.createdBy, forKey: .createdBy)
        try c.encode(room.createdAt, forKey: .createdAt)
    }
    enum Key: String, CodingKey { case id, createdBy = "created_by", createdAt = "created_at" }
}

/// A membership: `{"added_at","role","room","sign_pub"}`.
struct MemberPresentation: Encodable {
    let member: Member
    init(_ member: Member) { self.member = member }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(member.room, forKey: .room)
        try c.encode(member.signPub, forKey: .signPub)
        try c.encode(member.role, forKey: .role)
        try c.encode(member.addedAt, forKey: .addedAt)
    }
    enum Key: String, CodingKey { case room, signPub = "sign_pub", role, addedAt = "added_at" }
}

/// A wrapped room key: `{"created_at","epoch","recipient","room","wrapped"}` (`wrapped` in base64).
struct RoomKeyPresentation: Encodable {
    let key: RoomKey
    init(_ key: RoomKey) { self.key = key }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(key.room, forKey: .room)
        try c.encode(key.recipient, forKey: .recipient)
        try c.encode(key.epoch, forKey: .epoch)
        try c.encode(key.wrapped, forKey: .wrapped)
        try c.encode(key.createdAt, forKey: .createdAt)
    }
    enum Key: String, CodingKey { case room, recipient, epoch, wrapped, createdAt = "created_at" }
}
