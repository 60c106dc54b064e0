/// What the ACL is rendered from: every user and membership, and the internal identity.
public struct AllowlistSnapshot: Equatable, Sendable {
    public var users: [User]
    public var members: [Member]
    /// membershipd's own public nkey: the one identity with full rights (JetStream, control plane).
    public var internalNkey: String

    public init(users: [User], members: [Member], internalNkey: String) {
        self.users = users
        self.members = members
        self.internalNkey = internalNkey
    }
}
