public import Foundation

/// A registered user.
public struct User: Equatable, Sendable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case signPub = "sign_pub", handle, role, status, createdAt = "created_at", revokedAt = "revoked_at"
    }
}

/// A user as APIs and the CLI show it: the stored record plus its NATS nkey.
public struct UserPresentation: Encodable, Sendable {
    public let user: User
    public init(_ user: User) { self.user = user }

    public func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(user.nkey, forKey: .nkey)
    }
    enum Key: String, CodingKey { case nkey }
}

/// A room: a set of NATS subjects `unibus.room.<id>` and `unibus.room.<id>.>`.
public struct Room: Equatable, Sendable, Codable {
    public var id: RoomID
    public var createdBy: SignPub
    public var createdAt: Date

    public init(id: RoomID, createdBy: SignPub, createdAt: Date) {
        self.id = id
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case id, createdBy = "created_by", createdAt = "created_at" }
}

/// A user's membership of a room.
public struct Member: Equatable, Sendable, Codable {
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

    enum CodingKeys: String, CodingKey { case room, signPub = "sign_pub", role, addedAt = "added_at" }
}

/// A room key wrapped for one recipient at one epoch. The bytes are opaque to the server.
public struct RoomKey: Equatable, Sendable, Codable {
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

    enum CodingKeys: String, CodingKey { case room, recipient, epoch, wrapped, createdAt = "created_at" }
}
