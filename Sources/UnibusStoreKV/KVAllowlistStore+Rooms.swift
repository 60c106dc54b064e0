import Foundation
import Synchronization
public import UnibusCore
import UnibusNats

extension KVAllowlistStore {
    /// Create-only room record (one creator wins), then the creator's owner membership.
    ///
    /// A crash or a failed write right after the room record leaves a room without members (the
    /// room id stays taken). Its creator's retry completes it: finding its own room without
    /// members, it writes the owner membership, then throws `roomExists` as for any stored room.
    /// Admins can also add members to it.
    public func createRoom(_ room: Room) async throws {
        try await requireActive(room.createdBy)
        try await mayHaveWritten { try await createRoomRecords(room) }
    }

    private func createRoomRecords(_ room: Room) async throws {
        do throws(NatsKVError) {
            _ = try await rooms.create(KVKey.room(room.id), value: KVCodec.encode(room))
        } catch .wrongLastSequence {
            if let stored = try await self.room(room.id), stored.createdBy == room.createdBy, try await members(of: room.id).isEmpty {
                try await writeMembership(Member(room: room.id, signPub: room.createdBy, role: .owner, addedAt: stored.createdAt))
            }
            throw StoreError.roomExists(room.id.value)
        } catch {
            throw Self.writeError(error)
        }
        try await writeMembership(Member(room: room.id, signPub: room.createdBy, role: .owner, addedAt: room.createdAt))
    }

    /// Create-only room record, nothing else (see ``AllowlistStore/restoreRoom(_:)``).
    public func restoreRoom(_ room: Room) async throws {
        guard try await user(room.createdBy) != nil else { throw StoreError.userNotFound(room.createdBy.hex) }
        do throws(NatsKVError) {
            _ = try await rooms.create(KVKey.room(room.id), value: KVCodec.encode(room))
        } catch .wrongLastSequence {
            throw StoreError.roomExists(room.id.value)
        } catch {
            throw Self.writeError(error)
        }
    }

    public func room(_ id: RoomID) async throws -> Room? {
        try await rooms.fetch(KVKey.room(id)).map(KVCodec.room)
    }

    public func putMember(_ member: Member) async throws {
        try await requireRoom(member.room)
        try await requireActive(member.signPub)
        try await mayHaveWritten { try await writeMembership(member) }
    }

    /// Index entry first, then the membership (created, or its role changed with a
    /// revision-checked update that keeps `added_at`), then the index is checked again: a
    /// concurrent ``removeMember(room:signPub:)`` may have dropped it in between.
    private func writeMembership(_ member: Member) async throws {
        let indexKey = KVKey.index(member.signPub, member.room)
        let index = KVCodec.encode(MembershipIndex(room: member.room, signPub: member.signPub))
        _ = try await roomsByMember.write(indexKey, value: index)
        try await upsert(member)
        if try await roomsByMember.fetch(indexKey) == nil {
            _ = try await roomsByMember.write(indexKey, value: index)
        }
    }

    private func upsert(_ member: Member) async throws {
        try await changeMembership(member.room, member.signPub, to: member)
    }

    /// Revision-checked delete of the membership (refused for the room's last owner), then its
    /// index entry (which is restored if the membership came back meanwhile).
    public func removeMember(room: RoomID, signPub: SignPub) async throws {
        try await mayHaveWritten {
            try await changeMembership(room, signPub, to: nil)
            try await dropIndex(signPub, room, revision: nil)
        }
    }

    /// Creates the membership, changes its role (keeping `added_at`) or, with `nil`, deletes it:
    /// each a revision-checked write against the entry just read, retried when another writer
    /// got there first.
    ///
    /// A room always keeps an owner. A write that takes an owner away (a demotion or a removal of
    /// an entry read as an owner) runs under the room's owner guard (see ``takeOwnerGuard(_:for:)``),
    /// which serialises such writes per room across nodes, and only after the room's members,
    /// listed under the guard, show another owner. A write of an entry read as a non-owner needs
    /// no guard: its revision check fails if the member was made an owner meanwhile, and the
    /// retry then takes the guarded path. Promotions never take an owner away. So the owners
    /// counted under the guard can only lose a member through another guarded write, which
    /// cannot run at the same time: two owners demoting each other at once cannot both pass.
    ///
    /// Residual race: a guard holder that stalls longer than `configuration.ownerGuardGrace`
    /// (30 s) between taking the guard and its write may have the guard taken over, and then two
    /// such writes could both pass. KV operations are bounded by `configuration.wait` (5 s by
    /// default), far below it.
    private func changeMembership(_ room: RoomID, _ signPub: SignPub, to new: Member?) async throws {
        let key = KVKey.member(room, signPub)
        for _ in 0..<configuration.maxAttempts {
            guard let entry = try await members.fetch(key) else {
                guard let new else { throw StoreError.memberNotFound(room: room.value, signPub: signPub.hex) }
                do throws(NatsKVError) {
                    _ = try await members.create(key, value: KVCodec.encode(new))
                    return
                } catch .wrongLastSequence {
                    continue
                } catch {
                    throw Self.writeError(error)
                }
            }
            var stored = try KVCodec.member(entry)
            if let new, stored.role == new.role { return }
            let held = stored.role == .owner ? try await takeOwnerGuard(room, for: signPub) : nil
            let written: Bool
            do {
                if held != nil {
                    let owners = try await members(of: room).filter { $0.role == .owner }
                    guard owners.contains(where: { $0.signPub != signPub }) else {
                        throw StoreError.lastOwner(room: room.value, signPub: signPub.hex)
                    }
                }
                do throws(NatsKVError) {
                    if let new {
                        stored.role = new.role
                        _ = try await members.update(key, value: KVCodec.encode(stored), revision: entry.revision)
                    } else {
                        try await members.delete(key, revision: entry.revision)
                    }
                    written = true
                } catch .wrongLastSequence {
                    written = false
                } catch {
                    throw Self.writeError(error)
                }
            } catch {
                if let held { await releaseOwnerGuard(room, revision: held) }
                throw error
            }
            if let held { await releaseOwnerGuard(room, revision: held) }
            if written { return }
        }
        throw StoreError.conflict("membership of \(signPub.hex) in '\(room.value)' kept racing with other writers")
    }

    /// Takes the room's owner guard (`UNIBUS_rooms` key `<room>.owner-guard`, naming the member
    /// whose ownership is being changed): created, or updated at the revision read when it is
    /// free. Waits up to `configuration.wait` for a holder to release it.
    ///
    /// A guard left held by a writer that died is taken over once this node has seen it held at
    /// the same revision for `configuration.ownerGuardGrace` (30 s) on its own monotonic clock:
    /// the server's timestamp of the guard is never compared with this node's wall clock, so a
    /// node whose clock runs ahead cannot take over a fresh guard. A call that finds it held
    /// fails with `conflict`, saying how long it has been seen held and when a retry takes it over.
    /// - Returns: the guard's revision, for ``releaseOwnerGuard(_:revision:)``.
    private func takeOwnerGuard(_ room: RoomID, for signPub: SignPub) async throws -> UInt64 {
        let key = KVKey.ownerGuard(room)
        let mine = KVCodec.encode(OwnerGuard(changing: signPub))
        let grace = configuration.ownerGuardGrace
        let deadline = ContinuousClock.now + configuration.wait
        var pause = Duration.milliseconds(2)
        var seenHeld = Duration.zero
        repeat {
            let entry = try await rooms.fetch(key)
            do throws(NatsKVError) {
                guard let entry else {
                    forgetGuard(key)
                    return try await rooms.create(key, value: mine)
                }
                let held = try? KVCodec.ownerGuard(entry, room)
                seenHeld = held?.changing == nil ? .zero : sawGuardHeld(key, revision: entry.revision)
                if held?.changing == nil || seenHeld >= grace {
                    let revision = try await rooms.update(key, value: mine, revision: entry.revision)
                    forgetGuard(key)
                    return revision
                }
            } catch .wrongLastSequence {
                // taken or released by another writer first: look again
            } catch {
                throw Self.storeError(error)
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        } while ContinuousClock.now < deadline
        let seconds = { (d: Duration) in max(Int(d.components.seconds), 0) }
        throw StoreError.conflict(
            "the owners of '\(room.value)' are being changed by another writer (guard \(Bucket.rooms.rawValue) '\(key)' "
                + "held for at least \(seconds(seenHeld)) s as seen by this node; if that writer died, the guard is taken over "
                + "once seen held for \(seconds(grace)) s: retry after \(seconds(grace - seenHeld) + 1) s)")
    }

    /// How long this node has seen the guard held at this revision (from now on, if it is new).
    private func sawGuardHeld(_ key: String, revision: UInt64) -> Duration {
        let now = ContinuousClock.now
        return guardSightings.withLock { seen in
            if let sighting = seen[key], sighting.revision == revision { return now - sighting.since }
            seen[key] = (revision, now)
            return .zero
        }
    }

    private func forgetGuard(_ key: String) {
        _ = guardSightings.withLock { $0.removeValue(forKey: key) }
    }

    /// Marks the guard free, if it is still ours (a stale guard may have been taken over).
    private func releaseOwnerGuard(_ room: RoomID, revision: UInt64) async {
        _ = try? await rooms.update(KVKey.ownerGuard(room), value: KVCodec.encode(OwnerGuard(changing: nil)), revision: revision)
    }

    /// Deletes an index entry, then restores it if the membership exists after all.
    private func dropIndex(_ signPub: SignPub, _ room: RoomID, revision: UInt64?) async throws {
        let indexKey = KVKey.index(signPub, room)
        do throws(NatsKVError) {
            try await roomsByMember.delete(indexKey, revision: revision)
        } catch .wrongLastSequence {
            return  // rewritten meanwhile by a writer who re-checks it
        } catch {
            throw Self.writeError(error)
        }
        if try await members.fetch(KVKey.member(room, signPub)) != nil {
            _ = try await roomsByMember.write(indexKey, value: KVCodec.encode(MembershipIndex(room: room, signPub: signPub)))
        }
    }

    public func members(of room: RoomID) async throws -> [Member] {
        try await members.list(matching: KVKey.membersOf(room)).map(KVCodec.member).sorted { $0.signPub < $1.signPub }
    }

    /// The index entries of this member, each confirmed in the members bucket. An entry without
    /// its membership (left by a crash between the two writes) is not served, and is removed.
    public func rooms(ofMember signPub: SignPub) async throws -> [RoomID] {
        var confirmed: [RoomID] = []
        for entry in try await roomsByMember.list(matching: KVKey.roomsOf(signPub)) {
            let index = try KVCodec.index(entry)
            if try await members.fetch(KVKey.member(index.room, signPub)) != nil {
                confirmed.append(index.room)
            } else {
                try? await dropIndex(signPub, index.room, revision: entry.revision)  // repair; the read stands either way
            }
        }
        return confirmed.sorted()
    }

    public func allMembers() async throws -> [Member] {
        try await members.list().map(KVCodec.member).sorted { ($0.room, $0.signPub) < ($1.room, $1.signPub) }
    }

    func requireRoom(_ id: RoomID) async throws {
        guard try await room(id) != nil else { throw StoreError.roomNotFound(id.value) }
    }

    func requireActive(_ signPub: SignPub) async throws {
        guard let user = try await user(signPub) else { throw StoreError.userNotFound(signPub.hex) }
        guard user.status == .active else { throw StoreError.userRevoked(signPub.hex) }
    }
}

extension KVAllowlistStore: TolerantACLSource {
    /// Every user and membership that passes validation; the others are named in `problems`.
    public func aclRecords() async throws -> ACLRecords {
        var records = ACLRecords(users: [], members: [])
        for entry in try await users.list() where !entry.key.contains(".") {
            do { records.users.append(try KVCodec.user(entry)) } catch { records.problems.append("\(error)") }
        }
        for entry in try await members.list() {
            do { records.members.append(try KVCodec.member(entry)) } catch { records.problems.append("\(error)") }
        }
        return records
    }
}
