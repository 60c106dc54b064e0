import Foundation
import GRDB
public import UnibusCore

extension SQLiteAllowlistStore {
    public func createRoom(_ room: Room) async throws {
        let existed = try await write { db -> Bool in
            try Self.requireActive(db, room.createdBy)
            if let stored = try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ?", arguments: [room.id.value]) {
                // A memberless room (restored by a copy) is completed by its creator, as in KV.
                let createdBy: String = stored["created_by"]
                let empty = try Bool.fetchOne(db, sql: "SELECT 1 FROM members WHERE room = ?", arguments: [room.id.value]) != true
                guard createdBy == room.createdBy.hex, empty else { return true }
                try db.execute(
                    sql: "INSERT INTO members (room, sign_pub, role, added_at) VALUES (?, ?, 'owner', ?)",
                    arguments: [room.id.value, room.createdBy.hex, stored["created_at"] as Double])
                return true
            }
            try db.execute(
                sql: "INSERT INTO rooms (id, created_by, created_at) VALUES (?, ?, ?)",
                arguments: [room.id.value, room.createdBy.hex, room.createdAt.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO members (room, sign_pub, role, added_at) VALUES (?, ?, 'owner', ?)",
                arguments: [room.id.value, room.createdBy.hex, room.createdAt.timeIntervalSince1970])
            return false
        }
        if existed { throw StoreError.roomExists(room.id.value) }
    }

    public func restoreRoom(_ room: Room) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE sign_pub = ?", arguments: [room.createdBy.hex]) == true
            else { throw StoreError.userNotFound(room.createdBy.hex) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM rooms WHERE id = ?", arguments: [room.id.value]) == true {
                throw StoreError.roomExists(room.id.value)
            }
            try db.execute(
                sql: "INSERT INTO rooms (id, created_by, created_at) VALUES (?, ?, ?)",
                arguments: [room.id.value, room.createdBy.hex, room.createdAt.timeIntervalSince1970])
        }
    }

    public func room(_ id: RoomID) async throws -> Room? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ?", arguments: [id.value]).map { row in
                do {
                    return Room(
                        id: try RoomID(row["id"]), createdBy: try SignPub(hex: row["created_by"]),
                        createdAt: Date(timeIntervalSince1970: row["created_at"]))
                } catch { throw StoreError.corruptRecord("room \(id): \(error)") }
            }
        }
    }

    public func putMember(_ member: Member) async throws {
        try await write { db in
            try Self.requireRoom(db, member.room)
            try Self.requireActive(db, member.signPub)
            if member.role != .owner { try Self.keepAnOwner(db, member.room, without: member.signPub) }
            try db.execute(
                sql: """
                    INSERT INTO members (room, sign_pub, role, added_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (room, sign_pub) DO UPDATE SET role = excluded.role
                    """,
                arguments: [member.room.value, member.signPub.hex, member.role.rawValue, member.addedAt.timeIntervalSince1970])
        }
    }

    public func removeMember(room: RoomID, signPub: SignPub) async throws {
        try await write { db in
            try Self.keepAnOwner(db, room, without: signPub)
            try db.execute(sql: "DELETE FROM members WHERE room = ? AND sign_pub = ?", arguments: [room.value, signPub.hex])
            guard db.changesCount == 1 else { throw StoreError.memberNotFound(room: room.value, signPub: signPub.hex) }
        }
    }

    public func members(of room: RoomID) async throws -> [Member] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM members WHERE room = ? ORDER BY sign_pub", arguments: [room.value]).map(Self.member)
        }
    }

    public func rooms(ofMember signPub: SignPub) async throws -> [RoomID] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT room FROM members WHERE sign_pub = ? ORDER BY room", arguments: [signPub.hex])
                .map { text in
                    do { return try RoomID(text) } catch { throw StoreError.corruptRecord("membership of \(signPub): \(error)") }
                }
        }
    }

    public func allMembers() async throws -> [Member] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM members ORDER BY room, sign_pub").map(Self.member) }
    }

    public func putRoomKey(_ key: RoomKey) async throws {
        try await write { db in
            try Self.requireRoom(db, key.room)
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM members WHERE room = ? AND sign_pub = ?",
                    arguments: [key.room.value, key.recipient.hex]) == true
            else { throw StoreError.notAMember(room: key.room.value, signPub: key.recipient.hex) }
            try db.execute(
                sql: """
                    INSERT INTO room_keys (room, recipient, epoch, wrapped, created_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (room, recipient, epoch) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at
                    """,
                arguments: [key.room.value, key.recipient.hex, key.epoch, key.wrapped, key.createdAt.timeIntervalSince1970])
        }
    }

    public func roomKeys(room: RoomID, recipient: SignPub) async throws -> [RoomKey] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM room_keys WHERE room = ? AND recipient = ? ORDER BY epoch",
                arguments: [room.value, recipient.hex]
            ).map { row in
                do {
                    return try RoomKey(
                        room: try RoomID(row["room"]), recipient: try SignPub(hex: row["recipient"]),
                        epoch: row["epoch"], wrapped: row["wrapped"],
                        createdAt: Date(timeIntervalSince1970: row["created_at"]))
                } catch { throw StoreError.corruptRecord("room key of \(recipient) in \(room): \(error)") }
            }
        }
    }

    static func member(_ row: Row) throws -> Member {
        do {
            return Member(
                room: try RoomID(row["room"]), signPub: try SignPub(hex: row["sign_pub"]),
                role: try MemberRole(parsing: row["role"]), addedAt: Date(timeIntervalSince1970: row["added_at"]))
        } catch { throw StoreError.corruptRecord("membership: \(error)") }
    }

    /// Refuses a change that takes `signPub` out of the room's owners when it is the last one.
    /// Runs inside the write transaction (`BEGIN IMMEDIATE`), so two concurrent demotions of the
    /// room's two owners cannot both pass.
    static func keepAnOwner(_ db: Database, _ room: RoomID, without signPub: SignPub) throws {
        let owners = try String.fetchAll(
            db, sql: "SELECT sign_pub FROM members WHERE room = ? AND role = 'owner'", arguments: [room.value])
        if owners == [signPub.hex] { throw StoreError.lastOwner(room: room.value, signPub: signPub.hex) }
    }

    static func requireRoom(_ db: Database, _ room: RoomID) throws {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM rooms WHERE id = ?", arguments: [room.value]) == true
        else { throw StoreError.roomNotFound(room.value) }
    }

    static func requireActive(_ db: Database, _ signPub: SignPub) throws {
        guard let status = try String.fetchOne(db, sql: "SELECT status FROM users WHERE sign_pub = ?", arguments: [signPub.hex])
        else { throw StoreError.userNotFound(signPub.hex) }
        guard status == UserStatus.active.rawValue else { throw StoreError.userRevoked(signPub.hex) }
    }
}
