import UnibusCore

/// The allowlist as the ACL needs it, in memory, and each active user's rendered entry.
///
/// Kept current from a store's change stream: a change re-renders only the users it touches
/// (O(change)); ``text(head:)`` concatenates the cached entries in handle order, which is
/// byte for byte what ``AuthorizationRenderer/render(_:)`` gives for the same allowlist.
struct AclModel {
    let internalNkey: String
    private(set) var position = AclPosition()
    /// Counts changes of the rendered text; equal counts mean equal texts.
    private(set) var revision: UInt64 = 0
    /// Counts changes that took rights away from someone.
    private(set) var takeAways: UInt64 = 0

    private var users: [SignPub: User] = [:]
    private var rooms: [SignPub: Set<RoomID>] = [:]
    private var unreadable: [String: String] = [:]
    /// Active users that grant nothing, and why (a weak key, a clash).
    private var leftOut: [SignPub: String] = [:]
    private var entries: [SignPub: Entry] = [:]
    /// Rendered handles, sorted, and beside each its entry's text (so the config is one join,
    /// with no lookups per user).
    private var order: [Handle] = []
    private var texts: [String] = []
    private var holder: [Handle: SignPub] = [:]

    /// One rendered user.
    struct Entry {
        var handle: Handle
        var text: String
        /// "pub <subject>" / "sub <subject>".
        var rights: Set<String>
    }

    init(internalNkey: String) { self.internalNkey = internalNkey }

    /// Active users in the ACL.
    var renderedUsers: Int { order.count }

    /// Records left out of the ACL, one line each, sorted.
    var problems: [String] {
        (unreadable.values.sorted() + leftOut.values.sorted())
    }

    /// Replaces everything with `records` as of `position`.
    mutating func load(_ records: ACLRecords, at position: AclPosition) {
        let before = self
        users = Dictionary(records.users.map { ($0.signPub, $0) }, uniquingKeysWith: { $1 })
        rooms = [:]
        for member in records.members { rooms[member.signPub, default: []].insert(member.room) }
        unreadable = [:]
        for (index, problem) in records.problems.enumerated() { unreadable["snapshot \(index)"] = problem }
        entries = [:]
        order = []
        texts = []
        holder = [:]
        leftOut = [:]
        for user in users.values.sorted(by: { $0.handle < $1.handle }) { refresh(user.signPub, compareWith: nil) }
        self.position = self.position.merged(with: position)
        revision &+= 1
        if before.entries.contains(where: { key, old in entries[key].map { !old.rights.isSubset(of: $0.rights) } ?? true }) {
            takeAways &+= 1
        }
    }

    /// Applies changes in order; `position` is where the last of them is in the stream.
    mutating func apply(_ changes: [AclChange], at position: AclPosition) {
        var touched: [SignPub] = []
        for change in changes {
            switch change {
            case .user(let user):
                users[user.signPub] = user
                touched.append(user.signPub)
            case .userGone(let key):
                users[key] = nil
                touched.append(key)
            case .membership(let room, let key, let present):
                if present { rooms[key, default: []].insert(room) } else { rooms[key]?.remove(room) }
                touched.append(key)
            case .rooms(let key, let list):
                rooms[key] = Set(list)
                touched.append(key)
            case .unreadable(let key, let problem):
                unreadable[key] = problem
            }
        }
        for key in Set(touched) { refresh(key, compareWith: entries[key]) }
        self.position = self.position.merged(with: position)
    }

    /// Re-renders one user's entry (or removes it) and notes what that changed.
    private mutating func refresh(_ key: SignPub, compareWith old: Entry?) {
        let new = entry(for: key)
        if let old, old.text == new?.text { return }
        if let old {
            if let index = index(of: old.handle), holder[old.handle] == key {
                order.remove(at: index)
                texts.remove(at: index)
                holder[old.handle] = nil
            }
            if new.map({ !old.rights.isSubset(of: $0.rights) }) ?? true { takeAways &+= 1 }
        }
        entries[key] = new
        if let new {
            let index = insertionIndex(of: new.handle)
            order.insert(new.handle, at: index)
            texts.insert(new.text, at: index)
            holder[new.handle] = key
        }
        if old != nil || new != nil { revision &+= 1 }
    }

    /// The entry `key` should have now, or nil (recording why an active user has none).
    private mutating func entry(for key: SignPub) -> Entry? {
        leftOut[key] = nil
        guard let user = users[key], user.status == .active else { return nil }
        if let weakness = key.weakness {
            leftOut[key] = "user \(user.handle) left out of the ACL: \(weakness)"
            return nil
        }
        if user.nkey == internalNkey {
            leftOut[key] = "user \(user.handle) left out of the ACL: its key is membershipd's internal identity"
            return nil
        }
        if let other = holder[user.handle], other != key {
            leftOut[key] = "user \(user.handle) (\(key)) left out of the ACL: handle also held by \(other)"
            return nil
        }
        let nkeyUser = AuthorizationRenderer.entry(user, rooms: rooms[key] ?? [])
        do {
            let text = try AuthorizationRenderer.fragment(nkeyUser)
            let p = nkeyUser.permissions
            let rights = Set((p?.publish.allow ?? []).map { "pub \($0)" } + (p?.subscribe.allow ?? []).map { "sub \($0)" })
            return Entry(handle: user.handle, text: text, rights: rights)
        } catch {
            leftOut[key] = "user \(user.handle) left out of the ACL: \(error)"
            return nil
        }
    }

    /// The whole config: `head` (settings and the accounts block up to the first user), every
    /// entry by handle, then the closing of the block.
    func text(head: String) -> String {
        head + texts.joined() + AuthorizationRenderer.tail
    }

    private func insertionIndex(of handle: Handle) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < handle { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func index(of handle: Handle) -> Int? {
        let i = insertionIndex(of: handle)
        return i < order.count && order[i] == handle ? i : nil
    }
}
