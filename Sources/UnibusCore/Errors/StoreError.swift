/// A store refused or could not perform an operation. Every case but `outcomeUnknown`,
/// `partiallyApplied` and `storageFailure` means nothing was changed.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The sign-pub is already registered (active or revoked): never a silent overwrite.
    case alreadyRegistered(signPub: String, status: UserStatus)
    /// Another user already has this handle.
    case handleTaken(String)
    case userNotFound(String)
    case roomExists(String)
    case roomNotFound(String)
    case memberNotFound(room: String, signPub: String)
    case notAMember(room: String, signPub: String)
    case userRevoked(String)
    /// The change would leave the room without an owner: its last owner cannot leave or be demoted.
    case lastOwner(room: String, signPub: String)
    /// A concurrent writer changed the record first; retry the operation.
    case conflict(String)
    /// The store could not be asked (no quorum, unreachable, not open yet, locked by another
    /// writer) and nothing was sent or everything was rolled back: nothing was changed, retry.
    case unavailable(String)
    /// A write was sent but not confirmed (timed out, no quorum to acknowledge it): it may have
    /// been stored. Check before retrying.
    case outcomeUnknown(String)
    /// A bulk write stopped part way (the KV has no transactions): what landed is said.
    case partiallyApplied(String)
    /// The store holds a record that does not pass validation; it is reported, never served.
    case corruptRecord(String)
    /// The storage file or service cannot be used at all.
    case cannotOpen(String)
    /// The storage file failed underneath an operation (read-only, disk full, I/O error): the
    /// message names the file and the fix, and says "nothing was changed" only when it knows.
    case storageFailure(String)

    /// Unavailable, or a write whose outcome is unknown: asking again may succeed (and finds a
    /// write that did land). Everything else is an answer.
    public var mayPassOnItsOwn: Bool {
        switch self {
        case .unavailable, .outcomeUnknown: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .alreadyRegistered(let key, let status):
            "sign-pub \(key) is already registered (\(status.rawValue)); nothing was changed"
                + (status == .revoked ? ": a revoked key stays revoked, register a new key" : "")
        case .handleTaken(let h): "handle '\(h)' is already taken; choose another, nothing was changed"
        case .userNotFound(let u): "no user with sign-pub or handle '\(u)'; see `membershipd user list`"
        case .roomExists(let r): "room '\(r)' already exists; nothing was changed"
        case .roomNotFound(let r): "room '\(r)' does not exist"
        case .memberNotFound(let r, let k): "\(k) is not a member of room '\(r)'"
        case .notAMember(let r, let k): "recipient \(k) is not a member of room '\(r)'; add them first"
        case .userRevoked(let k): "user \(k) is revoked"
        case .lastOwner(let r, let k):
            "\(k) is the last owner of room '\(r)': a room always keeps an owner; make another member an owner first, nothing was changed"
        case .conflict(let what): "conflicting concurrent update: \(what); nothing was changed, retry"
        case .unavailable(let why): "store unavailable: \(why); nothing was changed, retry"
        case .outcomeUnknown(let why):
            "store unavailable: \(why); the write may or may not have been stored (unknown outcome): "
                + "check with `membershipd user list` (or read the record back) before retrying"
        case .partiallyApplied(let what): what
        case .corruptRecord(let what): "stored record failed validation: \(what)"
        case .cannotOpen(let why): why
        case .storageFailure(let why): why
        }
    }
}
