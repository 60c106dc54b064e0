public import Foundation

/// A store that becomes available later (the KV store can only open once nats-server runs).
/// Until then, and if it never opens, every call waits up to `patience` and then fails with
/// `StoreError.unavailable`: callers fail closed.
public final class DeferredAllowlistStore: AllowlistStore, @unchecked Sendable {
    private let lock = NSLock()
    private var store: (any AllowlistStore)?
    private let patience: Duration

    public init(patience: Duration = .seconds(5)) { self.patience = patience }

    /// Makes the real store available to every pending and future call.
    public func fulfill(_ store: any AllowlistStore) {
        lock.withLock { self.store = store }
    }

    /// The real store, waiting up to `patience` for it.
    public func current() async throws -> any AllowlistStore {
        if let store = lock.withLock({ store }) { return store }
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            if let store = lock.withLock({ store }) { return store }
        }
        throw StoreError.unavailable("the allowlist store is not open yet (JetStream not ready)")
    }

    public func addUser(_ user: User) async throws { try await current().addUser(user) }
    public func user(_ signPub: SignPub) async throws -> User? { try await current().user(signPub) }
    public func user(handle: Handle) async throws -> User? { try await current().user(handle: handle) }
    public func users() async throws -> [User] { try await current().users() }
    public func revokeUser(_ signPub: SignPub, at date: Date) async throws -> User { try await current().revokeUser(signPub, at: date) }
    public func createRoom(_ room: Room) async throws { try await current().createRoom(room) }
    public func restoreRoom(_ room: Room) async throws { try await current().restoreRoom(room) }
    public func room(_ id: RoomID) async throws -> Room? { try await current().room(id) }
    public func putMember(_ member: Member) async throws { try await current().putMember(member) }
    public func removeMember(room: RoomID, signPub: SignPub) async throws { try await current().removeMember(room: room, signPub: signPub) }
    public func members(of room: RoomID) async throws -> [Member] { try await current().members(of: room) }
    public func rooms(ofMember signPub: SignPub) async throws -> [RoomID] { try await current().rooms(ofMember: signPub) }
    public func allMembers() async throws -> [Member] { try await current().allMembers() }
    public func putRoomKey(_ key: RoomKey) async throws { try await current().putRoomKey(key) }
    public func roomKeys(room: RoomID, recipient: SignPub) async throws -> [RoomKey] {
        try await current().roomKeys(room: room, recipient: recipient)
    }
    public func consumeNonce(_ nonce: NonceValue, expiresAt: Date, now: Date) async throws -> Bool {
        try await current().consumeNonce(nonce, expiresAt: expiresAt, now: now)
    }
}
