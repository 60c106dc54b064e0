public import Foundation

/// A registered user. Not `Codable` on purpose: each store has its own storage record
/// (`StoredUser` in the KV store, columns in SQLite) and each interface its own presentation
/// (``UserPresentation``), so neither can change the other's JSON by accident.
public struct User: Equatable, Sendable {
    public var signPub: SignPub
    public var handle: Handle
    public var role: Role
    public var status: UserStatus
    public var createdAt: Date
    public var revokedAt: Date?

    public init(
        signPub: SignPub, handle: Handle, role: Role, status: UserStatus = .active,
        createdAt: Date, revokedAt: Date? = nil
    ) {
        self.signPub = signPub
        self.handle = handle
        self.role = role
        self.status = status
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// The user's NATS public nkey.
    public var nkey: String { signPub.nkey }
}

/// A user as the HTTP API (`/v1/me`, `/v1/users`) and `membershipd user list --json` show it:
/// `created_at`, `handle`, `nkey`, `revoked_at` (only when revoked), `role`, `sign_pub`,
/// `status`. This JSON is contract: change it only with the contract.
public struct UserPresentation: Encodable, Sendable {
    public let user: User
    public init(_ user: User) { self.user = user }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(user.signPub, forKey: .signPub)
        try c.encode(user.handle, forKey: .handle)
        try c.encode(user.role, forKey: .role)
        try c.encode(user.status, forKey: .status)
        try c.encode(user.createdAt, forKey: .createdAt)
        try c.encodeIfPresent(user.revokedAt, forKey: .revokedAt)
        try c.encode(user.nkey, forKey: .nkey)
    }

    enum Key: String, CodingKey {
        case signPub = "sign_pub", handle, role, status, createdAt = "created_at", revokedAt = "revoked_at", nkey
    }
}

/// A room: a set of NATS subjects `unibus.room.<id>` and `unibus.room.<id>.>`.
public struct Room: Equatable, Sendable {
    public var id: RoomID
    public var createdBy: SignPub
    public var createdAt: Date

    public init(id: RoomID, createdBy: SignPub, createdAt: Date) {
        self.id = id
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// A user's membership of a room.
public struct Member: Equatable, Sendable {
    public var room: RoomID
    public var signPub: SignPub
    public var role: MemberRole
    public var addedAt: Date

    public init(room: RoomID, signPub: SignPub, role: MemberRole, addedAt: Date) {
        self.room = room
        self.signPub = signPub
        self.role = role
        self.addedAt = addedAt
    }
}

/// A room key wrapped for one recipient at one epoch. The bytes are opaque to the server.
public struct RoomKey: Equatable, Sendable {
    /// Largest wrapped key accepted, in bytes.
    public static let maxWrappedBytes = 4096
    /// Largest epoch accepted (fits a JSON number exactly).
    public static let maxEpoch: Int64 = 1 << 53

    public var room: RoomID
    public var recipient: SignPub
    public var epoch: Int64
    public var wrapped: Data
    public var createdAt: Date

    /// - Throws: `ValidationError` for a negative or huge epoch, or empty or oversized bytes.
    public init(room: RoomID, recipient: SignPub, epoch: Int64, wrapped: Data, createdAt: Date) throws(ValidationError) {
        guard (0...Self.maxEpoch).contains(epoch) else { throw .epoch(epoch) }
        guard !wrapped.isEmpty else { throw .wrappedKeyEmpty }
        guard wrapped.count <= Self.maxWrappedBytes else { throw .wrappedKeyTooLarge(wrapped.count) }
        self.room = room
        self.recipient = recipient
        self.epoch = epoch
        self.wrapped = wrapped
        self.createdAt = createdAt
    }
}
