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
///
/// There is deliberately no response permission (nats-server's reply allowance lets whoever sets
/// a reply subject choose where the responder may publish; contract section 3). Replies go to
/// `_INBOX.*.>` instead.
public struct Permissions: Equatable, Sendable {
    public var publish: SubjectPermission
    public var subscribe: SubjectPermission
    public init(publish: SubjectPermission, subscribe: SubjectPermission) {
        self.publish = publish
        self.subscribe = subscribe
    }
}

/// The two accounts of the rendered config. Accounts are isolated namespaces in nats-server:
/// nothing published in one is visible in the other, and only `internal` has JetStream.
public enum Accounts {
    /// membershipd's internal identity and the allowlist buckets (JetStream enabled).
    public static let `internal` = "UNIBUS"
    /// Every user (no JetStream, no exports or imports).
    public static let users = "ROOMS"
    /// With bus auth off, clients without credentials join `users` as this user.
    public static let anonymousUser = "anonymous"
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
    /// `_INBOX.*.>`: any user's inbox, where a user may publish to answer a request.
    public static let anyInbox = "_INBOX.*.>"
}
