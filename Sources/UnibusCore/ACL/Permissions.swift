/// Allow and deny lists of subjects, named after nats-server's `SubjectPermission`.
public struct SubjectPermission: Equatable, Sendable {
    public var allow: [String]
    public var deny: [String]
    public init(allow: [String] = [], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }
}

/// One user's rights on the bus, named after nats-server's `Permissions`.
public struct Permissions: Equatable, Sendable {
    public var publish: SubjectPermission
    public var subscribe: SubjectPermission
    /// Lets the user publish one reply to each request it received (`allow_responses`).
    public var allowResponses: Bool
}

/// A user as nats-server knows it: an nkey, optionally restricted (nil means full rights).
public struct NkeyUser: Equatable, Sendable {
    public var nkey: String
    /// Shown as a comment above the entry, for operators reading the config.
    public var comment: String
    public var permissions: Permissions?
}

/// The subjects of the data plane (contract section 3).
public enum Subjects {
    /// `unibus.room.<id>`
    public static func room(_ id: RoomID) -> String { "unibus.room.\(id.value)" }
    /// `unibus.room.<id>.>`
    public static func roomTree(_ id: RoomID) -> String { "unibus.room.\(id.value).>" }
    /// `_INBOX.<handle>`: the inbox prefix a user's client must use.
    public static func inboxPrefix(_ handle: Handle) -> String { "_INBOX.\(handle.value)" }
    /// `_INBOX.<handle>.>`
    public static func inbox(_ handle: Handle) -> String { "_INBOX.\(handle.value).>" }
}
