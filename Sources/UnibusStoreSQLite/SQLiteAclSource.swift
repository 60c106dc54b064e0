import GRDB
public import UnibusCore

/// The ACL change stream of a SQLite allowlist: the `acl_changes` log its triggers append to,
/// tailed on a dedicated read-only connection. `PRAGMA data_version` (which changes when any
/// other connection or process commits) is polled every `interval`; only then are the new log
/// entries read, and only the users they name.
public struct SQLiteAclSource: AclChangeSource {
    /// The position's one stream.
    static let stream = "sqlite"
    /// Beyond this many touched users in one step, reading a snapshot is cheaper.
    static let snapshotThreshold = 2_000

    public let path: String
    public let interval: Duration

    /// For `head()`, asked on every control-plane write: opened once.
    private let headReader: DatabaseQueue?

    public init(path: String, interval: Duration = .milliseconds(5)) {
        self.path = path
        self.interval = interval
        headReader = try? Self.reader(path)
    }

    static func reader(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: config)
    }

    func reader() throws -> DatabaseQueue { try Self.reader(path) }

    public func head() async throws -> AclPosition {
        do {
            return try await (headReader ?? reader()).read(Self.head)
        } catch let error as DatabaseError {
            throw SQLiteAllowlistStore.storeError(error, path: path)
        }
    }

    public func snapshot() async throws -> (ACLRecords, AclPosition) {
        do {
            return try await reader().read(Self.snapshot)
        } catch let error as DatabaseError {
            throw SQLiteAllowlistStore.storeError(error, path: path)
        }
    }

    public func events(after position: AclPosition?) -> AsyncStream<AclFeedEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: AclFeedEvent.self, bufferingPolicy: .unbounded)
        let task = Task { [interval] in
            var queue: DatabaseQueue?
            var cursor = position?.marks[Self.stream]
            var version: Int?
            while !Task.isCancelled {
                do {
                    let reader = try queue ?? self.reader()
                    queue = reader
                    let now = try await reader.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
                    if now != version || cursor == nil {
                        version = now
                        let from = cursor
                        let (event, next) = try await reader.read { db in try Self.step(db, after: from) }
                        if let event { continuation.yield(event) }
                        cursor = next
                    }
                } catch {
                    // The file is briefly unreadable (locked, being replaced): try again, from a
                    // fresh connection, without losing the place.
                    queue = nil
                    version = nil
                }
                try? await Task.sleep(for: interval)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// What follows `cursor`: the touched users' records and rooms, or a snapshot when there is
    /// no cursor, the log was pruned past it, or so many users changed that a snapshot is cheaper.
    static func step(_ db: Database, after cursor: UInt64?) throws -> (AclFeedEvent?, UInt64) {
        guard let cursor else {
            let (records, position) = try snapshot(db)
            return (.snapshot(records, position), position.marks[stream] ?? 0)
        }
        let rows = try Row.fetchAll(
            db, sql: "SELECT seq, sign_pub FROM acl_changes WHERE seq > ? ORDER BY seq", arguments: [Int64(cursor)])
        guard let last = rows.last else { return (nil, cursor) }
        let first: Int64 = rows[0]["seq"]
        var touched: [String] = []
        var seen = Set<String>()
        for row in rows {
            let key: String = row["sign_pub"]
            if seen.insert(key).inserted { touched.append(key) }
        }
        let lastSeq = UInt64(last["seq"] as Int64)
        if UInt64(first) > cursor + 1 || touched.count > snapshotThreshold {
            let (records, position) = try snapshot(db)
            return (.snapshot(records, position), position.marks[stream] ?? lastSeq)
        }
        var changes: [AclChange] = []
        for key in touched {
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE sign_pub = ?", arguments: [key]),
                let user = try? SQLiteAllowlistStore.user(row)
            else {
                changes.append(.unreadable(key: "users \(key)", problem: "user \(key) is in the change log but cannot be read"))
                continue
            }
            let rooms = try String.fetchAll(db, sql: "SELECT room FROM members WHERE sign_pub = ?", arguments: [key])
            changes.append(.user(user))
            changes.append(.rooms(of: user.signPub, rooms.compactMap { try? RoomID($0) }))
        }
        return (.changes(changes, AclPosition([stream: lastSeq])), lastSeq)
    }

    static func head(_ db: Database) throws -> AclPosition {
        AclPosition([stream: UInt64(try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'acl_changes'") ?? 0)])
    }

    static func snapshot(_ db: Database) throws -> (ACLRecords, AclPosition) {
        let users = try Row.fetchAll(db, sql: "SELECT * FROM users").map(SQLiteAllowlistStore.user)
        let members = try Row.fetchAll(db, sql: "SELECT * FROM members").map(SQLiteAllowlistStore.member)
        return (ACLRecords(users: users, members: members), try head(db))
    }
}
