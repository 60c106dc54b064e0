public import Foundation

/// The allowlist: users, rooms, members, wrapped room keys, rooms-by-member and nonces.
///
/// Implemented on SQLite (one node) and JetStream KV (one node or a cluster); both pass the same
/// behaviour suite. Every method either does all of its change or none of it, and throws
/// `StoreError` (or `ValidationError`) with an operator-readable message otherwise.
public protocol AllowlistStore: Sendable {
    /// Registers a new user. Refuses a sign-pub that is already registered (active or revoked)
    /// and a handle that is taken: never an overwrite. Refuses a weak sign-pub
    /// (`SignPub.weakness`) with its `ValidationError`.
    func addUser(_ user: User) async throws
    /// The user with this sign-pub, whatever its status.
    func user(_ signPub: SignPub) async throws -> User?
    /// The user with this handle, whatever its status.
    func user(handle: Handle) async throws -> User?
    /// Every user, sorted by handle.
    func users() async throws -> [User]
    /// Marks a user revoked (the record stays). Revoking a revoked user changes nothing.
    /// - Returns: the user as stored after the call.
    func revokeUser(_ signPub: SignPub, at date: Date) async throws -> User

    /// Creates a room and makes its creator (an active user) its owner and first member.
    /// Throws `StoreError.roomExists` when the id is taken. A room record left without members
    /// by an interrupted creation (KV writes the room, then its owner) is completed when its
    /// creator creates it again: the creator becomes its owner, and `roomExists` is thrown as
    /// for any stored room (a retry then finds the room as asked, with its owner).
    func createRoom(_ room: Room) async throws
    /// Copies a room record as it is, for `migrate-to-kv` and `export` (``AllowlistCopy``):
    /// no membership is written and the creator need not be active (only registered; its
    /// ownership is whatever the copied members say). The room's members are copied after it.
    /// Throws `StoreError.roomExists` when the id is taken, `StoreError.userNotFound` when the
    /// creator is not registered.
    func restoreRoom(_ room: Room) async throws
    func room(_ id: RoomID) async throws -> Room?
    /// Adds a member to an existing room, or changes the role of an existing member.
    func putMember(_ member: Member) async throws
    /// Removes a member; throws `StoreError.memberNotFound` if it was not one.
    func removeMember(room: RoomID, signPub: SignPub) async throws
    /// Members of one room, sorted by sign-pub.
    func members(of room: RoomID) async throws -> [Member]
    /// Rooms a user belongs to, sorted (the rooms-by-member index).
    func rooms(ofMember signPub: SignPub) async throws -> [RoomID]
    /// Every membership, for rendering the ACL.
    func allMembers() async throws -> [Member]

    /// Stores a wrapped room key for a recipient who is a member; replaces the same epoch.
    func putRoomKey(_ key: RoomKey) async throws
    /// A recipient's wrapped keys for one room, by epoch.
    func roomKeys(room: RoomID, recipient: SignPub) async throws -> [RoomKey]

    /// Consumes a nonce once. Returns false when it was seen before and has not expired (a
    /// replay). Throws `StoreError.unavailable` when the store cannot confirm it: callers fail closed.
    func consumeNonce(_ nonce: NonceValue, expiresAt: Date, now: Date) async throws -> Bool
}

/// The records the ACL is rendered from, and those that could not be read.
public struct ACLRecords: Sendable {
    public var users: [User]
    public var members: [Member]
    /// One line per stored record that failed validation (left out: it grants nothing).
    public var problems: [String]
    public init(users: [User], members: [Member], problems: [String] = []) {
        self.users = users
        self.members = members
        self.problems = problems
    }
}

/// Stores that can skip unreadable records when rendering the ACL, so that one corrupt value
/// never blocks every later revocation. Leaving a record out only ever removes rights.
public protocol TolerantACLSource: AllowlistStore {
    func aclRecords() async throws -> ACLRecords
}

extension AllowlistStore {
    /// The allowlist as the ACL renderer needs it, with any records that had to be left out.
    /// Users whose sign-pub is weak (`SignPub.weakness`: stored before keys were checked) are
    /// left out with their memberships, and each active one is reported.
    public func aclSnapshot(internalNkey: String) async throws -> (snapshot: AllowlistSnapshot, problems: [String]) {
        var records: ACLRecords
        if let tolerant = self as? any TolerantACLSource {
            records = try await tolerant.aclRecords()
        } else {
            records = ACLRecords(users: try await users(), members: try await allMembers())
        }
        var weak = Set<SignPub>()
        for user in records.users {
            guard let weakness = user.signPub.weakness else { continue }
            weak.insert(user.signPub)
            if user.status == .active { records.problems.append("user \(user.handle) left out of the ACL: \(weakness)") }
        }
        if !weak.isEmpty {
            records.users.removeAll { weak.contains($0.signPub) }
            records.members.removeAll { weak.contains($0.signPub) }
        }
        return (AllowlistSnapshot(users: records.users, members: records.members, internalNkey: internalNkey), records.problems)
    }

    /// The allowlist as the ACL renderer needs it.
    public func snapshot(internalNkey: String) async throws -> AllowlistSnapshot {
        AllowlistSnapshot(users: try await users(), members: try await allMembers(), internalNkey: internalNkey)
    }

    /// Finds a user by sign-pub (64 hex) or by handle, as the CLI's `revoke HEX|HANDLE` does.
    /// - Throws: `StoreError.userNotFound`, or `ValidationError` when the text is neither shape.
    public func user(matching text: String) async throws -> User {
        let found: User?
        if text.utf8.count == 64, let key = try? SignPub(hex: text) {
            found = try await user(key)
        } else if let handle = try? Handle(text) {
            found = try await user(handle: handle)
        } else if text.utf8.count == 64 {
            throw ValidationError.signPubNotHex
        } else {
            throw ValidationError.handle(text)
        }
        guard let found else { throw StoreError.userNotFound(text) }
        return found
    }
}

/// Stores that can prove they accept a write without changing anything (for `/healthz`).
public protocol WritableProbe: AllowlistStore {
    /// - Throws: `StoreError` when a write would fail now.
    func probeWritable() async throws
}
