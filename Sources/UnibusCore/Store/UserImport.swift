/// What `importUsers` did.
public struct ImportOutcome: Sendable, Equatable {
    /// Users newly registered.
    public var added: Int
    /// Users already stored exactly as given (a re-run of the same import).
    public var alreadyPresent: Int
    public init(added: Int, alreadyPresent: Int) {
        self.added = added
        self.alreadyPresent = alreadyPresent
    }
}

/// Stores that register many users in one transaction (SQLite).
public protocol TransactionalImport: AllowlistStore {
    func importUsers(_ users: [User]) async throws -> ImportOutcome
}

extension AllowlistStore {
    /// Registers `users` (already validated, distinct keys and handles): all or nothing where
    /// the store has transactions (``TransactionalImport``), otherwise checked in full first and
    /// then written `concurrency` at a time. A user stored exactly as given (key, handle, role,
    /// active) is skipped, so re-running an import is safe; any other stored key or handle
    /// refuses the import before anything is written.
    /// - Throws: the first refusal (nothing written), or `StoreError.partiallyApplied` saying
    ///   how many landed when a write failed part way (KV).
    public func importUsers(_ users: [User], concurrency: Int = 16) async throws -> ImportOutcome {
        if let transactional = self as? any TransactionalImport { return try await transactional.importUsers(users) }
        var pending: [User] = []
        for user in users {
            if try await isAlreadyStored(user) { continue }
            if let existing = try await self.user(user.signPub) {
                throw StoreError.alreadyRegistered(signPub: user.signPub.hex, status: existing.status)
            }
            if try await self.user(handle: user.handle) != nil { throw StoreError.handleTaken(user.handle.value) }
            pending.append(user)
        }
        var added = 0
        var failure: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            var next = pending.makeIterator()
            func start() -> Bool {
                guard let user = next.next() else { return false }
                group.addTask { do { try await self.addUser(user); return nil } catch { return error } }
                return true
            }
            for _ in 0..<max(1, concurrency) where !start() { break }
            for await result in group {
                if let result { failure = failure ?? result } else { added += 1 }
                if failure == nil { _ = start() }
            }
        }
        if let failure {
            throw StoreError.partiallyApplied(
                "import stopped after \(added) of \(pending.count) new users were stored: \(failure); re-run the same import to finish it (users already stored as given are skipped)"
            )
        }
        return ImportOutcome(added: added, alreadyPresent: users.count - pending.count)
    }

    /// Whether `user` is stored exactly as given (and active).
    func isAlreadyStored(_ user: User) async throws -> Bool {
        guard let stored = try await self.user(user.signPub) else { return false }
        return stored.handle == user.handle && stored.role == user.role && stored.status == .active
    }
}
