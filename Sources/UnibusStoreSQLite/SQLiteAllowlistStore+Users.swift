public import Foundation
import GRDB
public import UnibusCore

extension SQLiteAllowlistStore {
    /// Refuses a sign-pub that is not a canonical point of large order (`SignPub.weakness`).
    public func addUser(_ user: User) async throws {
        try user.signPub.validateForRegistration()
        try await write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT status FROM users WHERE sign_pub = ?", arguments: [user.signPub.hex]) {
                throw StoreError.alreadyRegistered(signPub: user.signPub.hex, status: UserStatus(rawValue: existing["status"]) ?? .active)
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE handle = ?", arguments: [user.handle.value]) == true {
                throw StoreError.handleTaken(user.handle.value)
            }
            try db.execute(
                sql: "INSERT INTO users (sign_pub, handle, role, status, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    user.signPub.hex, user.handle.value, user.role.rawValue, user.status.rawValue,
                    user.createdAt.timeIntervalSince1970, user.revokedAt?.timeIntervalSince1970,
                ])
        }
    }

    public func user(_ signPub: SignPub) async throws -> User? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE sign_pub = ?", arguments: [signPub.hex]).map(Self.user) }
    }

    public func user(handle: Handle) async throws -> User? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE handle = ?", arguments: [handle.value]).map(Self.user) }
    }

    public func users() async throws -> [User] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY handle").map(Self.user) }
    }

    public func revokeUser(_ signPub: SignPub, at date: Date) async throws -> User {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE sign_pub = ?", arguments: [signPub.hex]) else {
                throw StoreError.userNotFound(signPub.hex)
            }
            var user = try Self.user(row)
            guard user.status == .active else { return user }
            try db.execute(
                sql: "UPDATE users SET status = 'revoked', revoked_at = ? WHERE sign_pub = ?",
                arguments: [date.timeIntervalSince1970, signPub.hex])
            user.status = .revoked
            user.revokedAt = date
            return user
        }
    }

    /// Decodes a row, validating every field: a bad row is reported, never served.
    static func user(_ row: Row) throws -> User {
        let key: String = row["sign_pub"]
        do {
            return User(
                signPub: try SignPub(hex: key), handle: try Handle(row["handle"]),
                role: try Role(parsing: row["role"]), status: try UserStatus(parsing: row["status"]),
                createdAt: Date(timeIntervalSince1970: row["created_at"]),
                revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
        } catch {
            throw StoreError.corruptRecord("user \(key): \(error)")
        }
    }
}

extension SQLiteAllowlistStore: TransactionalImport {
    /// One transaction: every user is stored, or none (and the ACL sees one change).
    public func importUsers(_ users: [User]) async throws -> ImportOutcome {
        for user in users { try user.signPub.validateForRegistration() }
        return try await write { db in
            var added = 0
            for user in users {
                if let existing = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE sign_pub = ?", arguments: [user.signPub.hex]) {
                    let stored = try Self.user(existing)
                    if stored.handle == user.handle && stored.role == user.role && stored.status == .active { continue }
                    throw StoreError.alreadyRegistered(signPub: user.signPub.hex, status: stored.status)
                }
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE handle = ?", arguments: [user.handle.value]) == true {
                    throw StoreError.handleTaken(user.handle.value)
                }
                try db.execute(
                    sql: "INSERT INTO users (sign_pub, handle, role, status, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)",
                    arguments: [user.signPub.hex, user.handle.value, user.role.rawValue, user.status.rawValue, user.createdAt.timeIntervalSince1970])
                added += 1
            }
            return ImportOutcome(added: added, alreadyPresent: users.count - added)
        }
    }
}
