public import Foundation

/// Copies every record of one allowlist store into another: users (revoked ones too), rooms,
/// members (with the rooms-by-member index) and wrapped room keys. Nonces are not copied (they
/// only matter within the signature window). Safe to re-run: a record already in the target is
/// kept as it is, never overwritten or duplicated.
///
/// Rooms are copied as records only (``AllowlistStore/restoreRoom(_:)``, whoever created them,
/// revoked or not), then their members with their roles in the source, owners first: a creator
/// who left a room or was demoted stays out of it or a plain member. Memberships of revoked
/// users (and their keys) are not copied, and are reported.
///
/// Used by `migrate-to-kv` (SQLite → KV) and `export` (KV → a new SQLite file).
public struct AllowlistCopy: Sendable {
    /// What happened to one kind of record.
    public struct Counts: Sendable, Equatable {
        public var copied = 0
        public var kept = 0
        public var skipped: [String] = []
        public init() {}
        public var text: String {
            "\(copied) copied, \(kept) already there"
                + (skipped.isEmpty ? "" : ", \(skipped.count) not copied: \(skipped.prefix(10).joined(separator: ", "))")
        }
    }

    public var users = Counts(), rooms = Counts(), members = Counts(), keys = Counts()

    /// One line per kind, as the commands print them.
    public var report: String {
        """
        UNIBUS_users: \(users.text)
        UNIBUS_rooms: \(rooms.text)
        UNIBUS_members and UNIBUS_rooms_by_member: \(members.text)
        UNIBUS_room_keys: \(keys.text)
        UNIBUS_nonces: not copied (nonces only matter within the signature window)
        """
    }

    /// How a step that found a store unavailable is asked again: a node that reloads its ACL
    /// many times a second while a bulk copy runs can drop a JetStream request (nats-server 2.9
    /// logs "Malformed JetStream API Request"). Every step is safe to repeat: a record that did
    /// land is then found and kept.
    public struct Retries: Sendable {
        /// Tries per step, the first included.
        public var attempts: Int
        /// The pause before asking again.
        public var pause: Duration
        public init(attempts: Int = 4, pause: Duration = .seconds(1)) {
            self.attempts = attempts
            self.pause = pause
        }
    }

    /// - Parameters:
    ///   - progress: called with (kind, done, total) as records are copied.
    ///   - retries: how a step that found a store unavailable is asked again.
    ///   - onRetry: told each time a step is asked again, with the reason.
    public static func run(
        from source: any AllowlistStore, to target: any AllowlistStore,
        progress: (String, Int, Int) -> Void = { _, _, _ in }, retries: Retries = Retries(),
        onRetry: @escaping (String) -> Void = { _ in }
    ) async throws -> AllowlistCopy {
        var c = AllowlistCopy()
        let steps = Steps(retries: retries, onRetry: onRetry)
        do {
            try await c.copy(from: source, to: target, steps: steps, progress: progress)
        } catch {
            throw Interrupted(partial: c, underlying: error)
        }
        return c
    }

    /// The copy stopped part way; what was copied stays (a re-run continues where it stopped).
    public struct Interrupted: Error, CustomStringConvertible {
        public let partial: AllowlistCopy
        public let underlying: any Error
        public var description: String {
            "\(underlying); copied before stopping: \(partial.users.copied) users, \(partial.rooms.copied) rooms, "
                + "\(partial.members.copied) members, \(partial.keys.copied) room keys (they stay; re-running is safe and continues)"
        }
    }

    private mutating func copy(
        from source: any AllowlistStore, to target: any AllowlistStore, steps: Steps, progress: (String, Int, Int) -> Void
    ) async throws {
        var c = self
        defer { self = c }
        let allUsers = try await steps.run { try await source.users() }
        for (i, user) in allUsers.enumerated() {
            do {
                try await steps.run { try await target.addUser(user) }
                c.users.copied += 1
            } catch StoreError.alreadyRegistered {
                c.users.kept += 1
            } catch let refused as ValidationError {
                c.users.skipped.append("\(user.handle) (\(refused))")  // e.g. a small-order key: it grants nothing anyway
            }
            progress("users", i + 1, allUsers.count)
        }
        let allMembers = try await steps.run { try await source.allMembers() }
        let roomIDs = Array(Set(allMembers.map(\.room))).sorted()
        for (i, id) in roomIDs.enumerated() {
            guard let room = try await steps.run({ try await source.room(id) }) else { continue }
            do {
                try await steps.run { try await target.restoreRoom(room) }
                c.rooms.copied += 1
            } catch StoreError.roomExists {
                c.rooms.kept += 1
            } catch StoreError.userNotFound {
                c.rooms.skipped.append("\(room.id) (created by a user not copied)")
            }
            progress("rooms", i + 1, roomIDs.count)
        }
        // Owners first, so that a room is never seen with members but no owner.
        let ordered = allMembers.filter { $0.role == .owner } + allMembers.filter { $0.role != .owner }
        var existing: [RoomID: Set<SignPub>] = [:]
        for (i, member) in ordered.enumerated() {
            if existing[member.room] == nil {
                existing[member.room] = Set(try await steps.run { try await target.members(of: member.room) }.map(\.signPub))
            }
            if existing[member.room]!.contains(member.signPub) {
                c.members.kept += 1
            } else {
                do {
                    try await steps.run { try await target.putMember(member) }
                    existing[member.room]!.insert(member.signPub)
                    c.members.copied += 1
                } catch StoreError.userRevoked, StoreError.userNotFound, StoreError.roomNotFound {
                    c.members.skipped.append("\(member.room)/\(member.signPub.hex.prefix(8)) (revoked user or room not copied)")
                }
            }
            progress("members", i + 1, allMembers.count)
        }
        for member in allMembers {
            let present = Set(try await steps.run { try await target.roomKeys(room: member.room, recipient: member.signPub) }.map(\.epoch))
            for key in try await steps.run({ try await source.roomKeys(room: member.room, recipient: member.signPub) }) {
                if present.contains(key.epoch) {
                    c.keys.kept += 1
                } else if (try? await steps.run { try await target.putRoomKey(key) }) != nil {
                    c.keys.copied += 1
                } else {
                    c.keys.skipped.append("\(key.room)/\(key.recipient.hex.prefix(8))@\(key.epoch)")
                }
            }
        }
    }
}

extension AllowlistCopy {
    /// Runs one step of the copy, asking again while a store is unavailable.
    struct Steps {
        let retries: Retries
        let onRetry: (String) -> Void

        func run<T>(_ step: () async throws -> T) async throws -> T {
            var attempt = 1
            while true {
                do {
                    return try await step()
                } catch let error as StoreError where error.mayPassOnItsOwn && attempt < retries.attempts {
                    onRetry("\(error); asking again (\(attempt) of \(retries.attempts - 1))")
                    attempt += 1
                    try await Task.sleep(for: retries.pause)
                }
            }
        }
    }
}
