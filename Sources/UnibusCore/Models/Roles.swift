/// A user's role in the allowlist.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case admin, member

    /// - Throws: `ValidationError.role` for anything but `admin` or `member`.
    public init(parsing text: String) throws(ValidationError) {
        guard let role = Role(rawValue: text) else { throw .role(text) }
        self = role
    }
    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// A user's status. Users are never deleted: a revoked user stays revoked.
public enum UserStatus: String, Codable, Sendable, CaseIterable {
    case active, revoked

    /// - Throws: `ValidationError.status`.
    public init(parsing text: String) throws(ValidationError) {
        guard let status = UserStatus(rawValue: text) else { throw .status(text) }
        self = status
    }
}

/// A member's role inside one room.
public enum MemberRole: String, Codable, Sendable, CaseIterable {
    case owner, member

    /// - Throws: `ValidationError.memberRole`.
    public init(parsing text: String) throws(ValidationError) {
        guard let role = MemberRole(rawValue: text) else { throw .memberRole(text) }
        self = role
    }
}
