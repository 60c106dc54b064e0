/// Renders the allowlist into nats-server's `accounts { … }` block (contract section 3).
///
/// Two accounts: `UNIBUS` holds membershipd's internal identity and has JetStream (the allowlist
/// buckets live there); `ROOMS` holds every active user, with no JetStream, no exports and no
/// imports, so `$JS.>`, `$KV.>` and the buckets do not exist for users by any route. Each user
/// may publish and subscribe its rooms' subjects, subscribe its own inbox, and publish to
/// `_INBOX.*.>` to answer requests. No response permission is rendered: whoever sets a reply
/// subject would choose where the responder may publish.
///
/// Pure and deterministic: users sorted by handle, subjects sorted, so the same allowlist always
/// gives the same bytes (and an unchanged allowlist never needs a reload). Revoked users are
/// absent, so nats-server closes their connections on reload. Every string is checked before it
/// is written; nothing from the input can leave its quoted string.
///
/// ```swift
/// let block = try AuthorizationRenderer.render(snapshot)   // "accounts {\n  UNIBUS { … }\n  ROOMS { … }\n}\n"
/// ```
public enum AuthorizationRenderer {
    /// The restricted rights of an active user who belongs to `rooms`.
    public static func permissions(handle: Handle, rooms: some Sequence<RoomID>) -> Permissions {
        let roomSubjects = Set(rooms).sorted().flatMap { [Subjects.room($0), Subjects.roomTree($0)] }
        // Never empty (an empty allow list would mean "no restriction" to nats-server).
        let publish = SubjectPermission(allow: (roomSubjects + [Subjects.anyInbox]).sorted())
        let subscribe = SubjectPermission(allow: ([Subjects.inbox(handle)] + roomSubjects).sorted())
        return Permissions(publish: publish, subscribe: subscribe)
    }

    /// The users of the `ROOMS` account: active users by handle, each with its rights.
    public static func users(_ snapshot: AllowlistSnapshot) -> [NkeyUser] {
        var roomsByMember: [SignPub: [RoomID]] = [:]
        for m in snapshot.members { roomsByMember[m.signPub, default: []].append(m.room) }
        let active = snapshot.users.filter { $0.status == .active }.sorted { $0.handle < $1.handle }
        return active.map { entry($0, rooms: roomsByMember[$0.signPub] ?? []) }
    }

    /// An active user's entry in `ROOMS`.
    public static func entry(_ user: User, rooms: some Sequence<RoomID>) -> NkeyUser {
        NkeyUser(
            nkey: user.nkey, comment: "\(user.handle.value) (\(user.role.rawValue))",
            permissions: permissions(handle: user.handle, rooms: rooms))
    }

    /// The whole `accounts { … }` block for bus auth enforced.
    /// - Throws: `RenderError` when a string would not be a safe config token, or two entries share an nkey.
    public static func render(_ snapshot: AllowlistSnapshot) throws(RenderError) -> String {
        var seen: Set<String> = [snapshot.internalNkey]
        var out = try head(internalNkey: snapshot.internalNkey)
        for entry in users(snapshot) {
            guard seen.insert(entry.nkey).inserted else { throw .duplicateNkey(entry.nkey) }
            out += try fragment(entry)
        }
        return out + tail
    }

    /// The block up to the first user of `ROOMS`: `head + fragments (by handle) + tail` is
    /// exactly `render(_:)`, which lets the ACL engine re-render only the users a change touches.
    public static func head(internalNkey: String) throws(RenderError) -> String {
        try internalAccount(internalNkey) + "  \(Accounts.users) {\n    users = [\n"
    }

    /// What follows the last user of `ROOMS`.
    public static let tail = "    ]\n  }\n}\n"

    /// The `accounts { … }` block for bus auth off (loopback only): the same two accounts, and
    /// clients without credentials join `ROOMS` with every right there (still no JetStream).
    public static func renderOpen(internalNkey: String) throws(RenderError) -> String {
        var out = try internalAccount(internalNkey)
        out += "  \(Accounts.users) {\n    users = [\n      { user: \"\(Accounts.anonymousUser)\" }\n    ]\n  }\n}\n"
        return out + "no_auth_user: \"\(Accounts.anonymousUser)\"\n"
    }

    private static func internalAccount(_ nkey: String) throws(RenderError) -> String {
        let entry = NkeyUser(nkey: nkey, comment: "membershipd internal identity", permissions: nil)
        return "accounts {\n  \(Accounts.internal) {\n    jetstream: enabled\n    users = [\n"
            + (try fragment(entry)) + "    ]\n  }\n"
    }

    /// One user's entry. The caller keeps nkeys unique (a duplicate nkey makes nats-server refuse the config).
    public static func fragment(_ entry: NkeyUser) throws(RenderError) -> String {
        guard NKey.isUserPublicKey(entry.nkey) else { throw .invalidNkey(entry.nkey) }
        try checkComment(entry.comment)
        var out = "      # \(entry.comment)\n      {\n        nkey: \"\(entry.nkey)\"\n"
        if let p = entry.permissions {
            out += "        permissions: {\n"
            out += try line("publish", p.publish)
            out += try line("subscribe", p.subscribe)
            out += "        }\n"
        }
        return out + "      }\n"
    }

    private static func line(_ name: String, _ permission: SubjectPermission) throws(RenderError) -> String {
        var parts: [String] = []
        if !permission.allow.isEmpty { parts.append("allow: \(try list(permission.allow))") }
        if !permission.deny.isEmpty { parts.append("deny: \(try list(permission.deny))") }
        return "          \(name): { \(parts.joined(separator: ", ")) }\n"
    }

    private static func list(_ subjects: [String]) throws(RenderError) -> String {
        for s in subjects where !SubjectSyntax.isValidPermissionSubject(s) { throw .invalidSubject(s) }
        return "[" + subjects.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    private static func checkComment(_ text: String) throws(RenderError) {
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else { throw .invalidComment(text) }
    }
}

/// The allowlist could not be rendered safely; the previous config stays in force.
public enum RenderError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidNkey(String), duplicateNkey(String), invalidSubject(String), invalidComment(String)
    public var description: String {
        switch self {
        case .invalidNkey(let k): "refusing to render ACL: \(Quoted(k)) is not a user public nkey"
        case .duplicateNkey(let k): "refusing to render ACL: nkey \(k) appears twice (is the internal identity also a user?)"
        case .invalidSubject(let s): "refusing to render ACL: \(Quoted(s)) is not a valid subject"
        case .invalidComment(let c): "refusing to render ACL: comment \(Quoted(c)) has control characters"
        }
    }
}

/// Subject syntax accepted in rendered permissions.
public enum SubjectSyntax {
    /// Dot-separated non-empty tokens of `[A-Za-z0-9_-]`, or `*`, or a final `>`; nothing that
    /// could close a quoted config string.
    public static func isValidPermissionSubject(_ subject: String) -> Bool {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        guard !tokens.isEmpty, subject.utf8.count <= 256 else { return false }
        for (i, token) in tokens.enumerated() {
            if token == ">" { if i != tokens.count - 1 { return false } else { continue } }
            if token == "*" { continue }
            guard !token.isEmpty,
                token.utf8.allSatisfy({ Ascii.isLower($0) || Ascii.isUpper($0) || Ascii.isDigit($0) || $0 == 0x5f || $0 == 0x2d })
            else { return false }
        }
        return true
    }
}
