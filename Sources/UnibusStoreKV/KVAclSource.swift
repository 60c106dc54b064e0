import Foundation
public import UnibusCore
import UnibusNats

/// The ACL change stream of the KV allowlist: watches of the users and members buckets, whose
/// revisions (stream sequences) are the position. Every node follows it, so a change made on any
/// node or by the CLI reaches every node's ACL.
///
/// The watches deliver the current values, then each change; once both have caught up the
/// allowlist is delivered as one snapshot, then every later entry as a change. A watch that
/// fails (connection lost) is restarted after `retryDelay` and delivers a fresh snapshot, since
/// a change may have happened while nobody watched.
public struct KVAclSource: AclChangeSource {
    let store: KVAllowlistStore
    /// Pause before watching again after a watch ended.
    public var retryDelay: Duration = .seconds(1)
    /// How long `head()` keeps asking while JetStream does not answer.
    public var patience: Duration = .seconds(8)

    public init(store: KVAllowlistStore) { self.store = store }

    /// The position's streams.
    static let users = "users"
    static let members = "members"

    /// The buckets' last sequences, from their stream leaders. Retried for up to `patience`:
    /// JetStream's API can be briefly unavailable while nats-server reloads its accounts.
    public func head() async throws -> AclPosition {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(50)
        while true {
            do {
                async let users = store.jetStream.bucketStatus(KVAllowlistStore.Bucket.users.rawValue)
                async let members = store.jetStream.bucketStatus(KVAllowlistStore.Bucket.members.rawValue)
                return AclPosition([Self.users: try await users.lastSequence, Self.members: try await members.lastSequence])
            } catch let error as NatsKVError {
                // While nats-server 2.9.10 reloads its accounts JetStream may also answer "not
                // enabled for account" for a moment: any failure is asked again until the deadline.
                guard ContinuousClock.now + delay < deadline else { throw KVAllowlistStore.storeError(error) }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(500))
            }
        }
    }

    public func snapshot() async throws -> (ACLRecords, AclPosition) {
        let position = try await head()
        return (try await store.aclRecords(), position)
    }

    public func events(after position: AclPosition?) -> AsyncStream<AclFeedEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: AclFeedEvent.self, bufferingPolicy: .unbounded)
        let task = Task { [store, retryDelay] in
            while !Task.isCancelled {
                await Self.follow(store, continuation: continuation)
                guard !Task.isCancelled else { break }
                try? await Task.sleep(for: retryDelay)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// One run of both watches, until either fails.
    static func follow(_ store: KVAllowlistStore, continuation: AsyncStream<AclFeedEvent>.Continuation) async {
        let (merged, input) = AsyncStream.makeStream(of: (String, NatsKVWatchEvent).self, bufferingPolicy: .unbounded)
        let watches = Task {
            await withTaskGroup(of: Void.self) { group in
                for (name, bucket) in [(users, store.bucket(.users)), (members, store.bucket(.members))] {
                    group.addTask {
                        for await event in bucket.watch() { input.yield((name, event)) }
                        input.finish()  // one watch ended: start both over
                    }
                }
            }
        }
        defer { watches.cancel() }
        var reader = KVAclReader()
        var caughtUp = Set<String>()
        for await (name, event) in merged {
            switch event {
            case .failed: return
            case .caughtUp:
                guard caughtUp.insert(name).inserted, caughtUp.count == 2 else { continue }
                continuation.yield(.snapshot(reader.records, reader.position))
            case .entry(let entry):
                let changes = reader.read(entry, stream: name)
                if caughtUp.count == 2 { continuation.yield(.changes(changes, reader.position)) }
            }
        }
    }
}

/// Turns watched entries into ACL changes, and collects them into records until caught up.
struct KVAclReader {
    var position = AclPosition()
    private var users: [SignPub: User] = [:]
    private var members: [String: Member] = [:]
    private var problems: [String: String] = [:]

    /// What has been read so far, as one snapshot.
    var records: ACLRecords {
        ACLRecords(
            users: Array(users.values), members: Array(members.values),
            problems: problems.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })
    }

    mutating func read(_ entry: NatsKVEntry, stream: String) -> [AclChange] {
        position.marks[stream] = max(position.marks[stream] ?? 0, entry.revision)
        let changes = stream == KVAclSource.users ? user(entry) : member(entry)
        for change in changes { collect(change, key: entry.key) }
        return changes
    }

    private func user(_ entry: NatsKVEntry) -> [AclChange] {
        guard !entry.key.contains(".") else { return [] }  // a handle reservation
        let problemKey = "\(KVAllowlistStore.Bucket.users.rawValue) \(entry.key)"
        let key = try? SignPub(hex: entry.key)
        guard entry.operation == .put else {
            return (key.map { [.userGone($0)] } ?? []) + [.unreadable(key: problemKey, problem: nil)]
        }
        do {
            return [.user(try KVCodec.user(entry)), .unreadable(key: problemKey, problem: nil)]
        } catch {
            return (key.map { [.userGone($0)] } ?? []) + [.unreadable(key: problemKey, problem: "\(error)")]
        }
    }

    private func member(_ entry: NatsKVEntry) -> [AclChange] {
        let problemKey = "\(KVAllowlistStore.Bucket.members.rawValue) \(entry.key)"
        let parts = entry.key.split(separator: ".")
        var named: (RoomID, SignPub)?
        if parts.count == 2, let room = try? RoomID(String(parts[0])), let key = try? SignPub(hex: String(parts[1])) {
            named = (room, key)
        }
        let gone: [AclChange] = named.map { [.membership(room: $0.0, signPub: $0.1, present: false)] } ?? []
        guard entry.operation == .put else { return gone + [.unreadable(key: problemKey, problem: nil)] }
        do {
            let member = try KVCodec.member(entry)
            return [.membership(room: member.room, signPub: member.signPub, present: true), .unreadable(key: problemKey, problem: nil)]
        } catch {
            return gone + [.unreadable(key: problemKey, problem: "\(error)")]
        }
    }

    /// Keeps the collected records equal to the bucket contents seen so far.
    private mutating func collect(_ change: AclChange, key: String) {
        switch change {
        case .user(let user): users[user.signPub] = user
        case .userGone(let signPub): users[signPub] = nil
        case .membership(let room, let signPub, let present):
            members[key] = present ? Member(room: room, signPub: signPub, role: .member, addedAt: .distantPast) : nil
        case .unreadable(let problemKey, let problem): problems[problemKey] = problem
        case .rooms: break
        }
    }
}
