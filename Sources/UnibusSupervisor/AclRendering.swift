public import UnibusCore

/// A rendered nats-server config and the rights it grants, so that a change that takes rights
/// away (a revocation, a member removed) can be told from one that only grants.
public struct AclRendering: Equatable, Sendable {
    public let text: String
    /// User nkey → "pub <subject>" / "sub <subject>" it may use.
    let rights: [String: Set<String>]

    init(text: String, snapshot: AllowlistSnapshot?) {
        self.text = text
        var rights: [String: Set<String>] = [:]
        for user in snapshot.map(AuthorizationRenderer.users) ?? [] {
            let p = user.permissions
            rights[user.nkey] = Set((p?.publish.allow ?? [">"]).map { "pub \($0)" } + (p?.subscribe.allow ?? [">"]).map { "sub \($0)" })
        }
        self.rights = rights
    }

    /// Whether this rendering takes away anything `other` grants.
    func takesAway(from other: AclRendering) -> Bool {
        other.rights.contains { nkey, granted in
            guard let kept = rights[nkey] else { return true }
            return !granted.isSubset(of: kept)
        }
    }
}
