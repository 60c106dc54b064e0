public import Foundation
public import UnibusCore
import UnibusNats

extension KVAllowlistStore {
    /// A reservation older than this whose user record never appeared is taken to be left by a
    /// writer that crashed between the two writes of ``addUser(_:)``, and may be taken over.
    static let reservationGrace: TimeInterval = 60

    /// Reserves the handle (create-only `handle.<h>`), then creates the user record
    /// (create-only `<sign-pub>`): of two nodes adding the same handle or key at once, exactly
    /// one wins. Refuses a sign-pub that is not a canonical point of large order.
    public func addUser(_ user: User) async throws {
        try user.signPub.validateForRegistration()
        if let existing = try await self.user(user.signPub) {
            throw StoreError.alreadyRegistered(signPub: user.signPub.hex, status: existing.status)
        }
        try await mayHaveWritten {
            let reservation = try await reserve(user.handle, for: user.signPub)
            do throws(NatsKVError) {
                _ = try await users.create(KVKey.user(user.signPub), value: KVCodec.encode(user))
            } catch .wrongLastSequence {
                // The same key was registered concurrently: give the handle back.
                try? await users.delete(KVKey.handle(user.handle), revision: reservation)
                let status = try await self.user(user.signPub)?.status ?? .active
                throw StoreError.alreadyRegistered(signPub: user.signPub.hex, status: status)
            } catch {
                throw Self.writeError(error)
            }
            // Had our reservation been taken over meanwhile (we stalled past the grace period),
            // withdraw the record rather than keep two users with one handle.
            if let now = try await users.fetch(KVKey.handle(user.handle)),
                try KVCodec.reservation(now, user.handle).signPub != user.signPub
            {
                try? await users.delete(KVKey.user(user.signPub))
                throw StoreError.handleTaken(user.handle.value)
            }
        }
    }

    /// Creates `handle.<h>` naming `signPub`; returns its revision.
    private func reserve(_ handle: Handle, for signPub: SignPub) async throws -> UInt64 {
        let key = KVKey.handle(handle)
        let value = KVCodec.encode(HandleReservation(signPub: signPub))
        for _ in 0..<configuration.maxAttempts {
            do throws(NatsKVError) {
                return try await users.create(key, value: value)
            } catch .wrongLastSequence {
                guard let entry = try await users.fetch(key) else { continue }  // deleted meanwhile
                let holder = try KVCodec.reservation(entry, handle).signPub
                if holder == signPub { return entry.revision }  // our own earlier, interrupted attempt
                if let owner = try await self.user(holder), owner.handle == handle {
                    throw StoreError.handleTaken(handle.value)
                }
                // No user holds it: a writer in flight, or one that crashed after reserving.
                guard Date().timeIntervalSince(entry.created) > Self.reservationGrace else {
                    throw StoreError.handleTaken(handle.value)
                }
                do throws(NatsKVError) {
                    return try await users.update(key, value: value, revision: entry.revision)
                } catch .wrongLastSequence {
                    throw StoreError.handleTaken(handle.value)
                } catch {
                    throw Self.writeError(error)
                }
            } catch {
                throw Self.writeError(error)
            }
        }
        throw StoreError.conflict("reserving handle '\(handle.value)' kept racing with other writers")
    }

    public func user(_ signPub: SignPub) async throws -> User? {
        try await users.fetch(KVKey.user(signPub)).map(KVCodec.user)
    }

    /// Follows the handle's reservation to its user; a reservation whose user does not carry
    /// the handle (a crashed or racing add) finds nobody.
    public func user(handle: Handle) async throws -> User? {
        guard let entry = try await users.fetch(KVKey.handle(handle)) else { return nil }
        let holder = try KVCodec.reservation(entry, handle).signPub
        guard let user = try await user(holder), user.handle == handle else { return nil }
        return user
    }

    public func users() async throws -> [User] {
        try await users.list()
            .filter { !$0.key.contains(".") }  // leave out the handle.<h> reservations
            .map(KVCodec.user)
            .sorted { $0.handle < $1.handle }
    }

    /// A revision-checked update, retried when another writer got there first.
    public func revokeUser(_ signPub: SignPub, at date: Date) async throws -> User {
        for _ in 0..<configuration.maxAttempts {
            guard let entry = try await users.fetch(KVKey.user(signPub)) else { throw StoreError.userNotFound(signPub.hex) }
            var user = try KVCodec.user(entry)
            guard user.status == .active else { return user }
            user.status = .revoked
            user.revokedAt = date
            do throws(NatsKVError) {
                _ = try await users.update(entry.key, value: KVCodec.encode(user), revision: entry.revision)
                return user
            } catch .wrongLastSequence {
                continue
            } catch {
                throw Self.writeError(error)
            }
        }
        throw StoreError.conflict("revoking \(signPub.hex) kept racing with other writers")
    }
}
