public import Foundation
public import UnibusCore

/// Deterministic test identities.
public enum Fixture {
    /// A key pair made from a seed derived from `n`, so tests are reproducible.
    public static func keyPair(_ n: Int) -> UserKeyPair {
        var seed = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: UInt64(n).bigEndian) { seed.replaceSubrange(24..<32, with: $0) }
        seed[0] = 0x75
        return try! UserKeyPair(seed: seed)
    }

    /// The creation time of every fixture record.
    public static let epoch = Date(timeIntervalSince1970: 1_764_000_000)

    /// An active user with a deterministic key.
    public static func user(_ handle: String, _ n: Int, role: Role = .member) -> User {
        User(signPub: keyPair(n).signPub, handle: try! Handle(handle), role: role, createdAt: epoch)
    }

    /// A room created by `owner`.
    public static func room(_ id: String, by owner: User) -> Room {
        Room(id: try! RoomID(id), createdBy: owner.signPub, createdAt: epoch)
    }

    /// `user` as a member of `room`.
    public static func member(_ room: String, _ user: User, _ role: MemberRole = .member) -> Member {
        Member(room: try! RoomID(room), signPub: user.signPub, role: role, addedAt: epoch)
    }
}

/// Polls `condition` until it holds or `timeout` passes (in the style of nats-server's `checkFor`).
/// - Returns: whether the condition held in time.
public func eventually(
    timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
