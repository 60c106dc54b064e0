import Foundation
public import UnibusCore
import UnibusNats

extension KVAllowlistStore {
    /// Create-only room record (one creator wins), then the creator's owner membership.
    ///
    /// A crash right after the room record leaves a room without members; admins can still add
    /// members to it (the room id stays taken, as it would after any creation).
    public func createRoom(_ room: Room) async throws {
        try await requireActive(room.createdBy)
        do throws(NatsKVError) {
            _ = try await rooms.create(KVKey.room(room.id), value: KVCodec.encode(room))
        } catch .wrongLastSequence {
            throw StoreError.roomExists(room.id.value)
        } catch {
            throw Self.storeError(error)
        }
        try await writeMembership(Member(room: room.id, signPub: room.createdBy, role: .owner, addedAt: room.createdAt))
    }

    public func room(_ id: RoomID) async throws -> Room? {
        try await rooms.fetch(KVKey.room(id)).map(KVCodec.room)
    }

    public func putMember(_ member: Member) async throws {
        try await requireRoom(member.room)
        try await requireActive(member.signPub)
        try await writeMembership(member)
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
        let key = KVKey.member(member.room, member.signPub)
        for _ in 0..<configuration.maxAttempts {
            do {
                if let entry = try await members.get(key) {
                    var stored = try KVCodec.member(entry)
                    guard stored.role != member.role else { return }
                    stored.role = member.role
                    _ = try await members.update(key, value: KVCodec.encode(stored), revision: entry.revision)
                } else {
                    _ = try await members.create(key, value: KVCodec.encode(member))
                }
                return
            } catch NatsKVError.wrongLastSequence {
                continue
            } catch let error as NatsKVError {
                throw Self.storeError(error)
            }
        }
        throw StoreError.conflict("membership of \(member.signPub.hex) in '\(member.room.value)' kept racing with other writers")
    }

    /// Revision-checked delete of the membership, then its index entry (which is restored if
    /// the membership came back meanwhile).
    public func removeMember(room: RoomID, signPub: SignPub) async throws {
        let key = KVKey.member(room, signPub)
        var removed = false
        for _ in 0..<configuration.maxAttempts where !removed {
            guard let entry = try await members.fetch(key) else {
                throw StoreError.memberNotFound(room: room.value, signPub: signPub.hex)
            }
            do throws(NatsKVError) {
                try await members.delete(key, revision: entry.revision)
                removed = true
            } catch .wrongLastSequence {
                continue
            } catch {
                throw Self.storeError(error)
            }
        }
        guard removed else { throw StoreError.conflict("removing \(signPub.hex) from '\(room.value)' kept racing with other writers") }
        try await dropIndex(signPub, room, revision: nil)
    }

    /// Deletes an index entry, then restores it if the membership exists after all.
    private func dropIndex(_ signPub: SignPub, _ room: RoomID, revision: UInt64?) async throws {
        let indexKey = KVKey.index(signPub, room)
        do throws(NatsKVError) {
            try await roomsByMember.delete(indexKey, revision: revision)
        } catch .wrongLastSequence {
            return  // rewritten meanwhile by a writer who re-checks it
        } catch {
            throw Self.storeError(error)
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
