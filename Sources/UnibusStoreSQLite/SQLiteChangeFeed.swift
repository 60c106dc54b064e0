import GRDB
public import UnibusCore

/// Notices commits to the database from any connection or process by polling
/// `PRAGMA data_version` on a dedicated read-only connection (it changes when *another*
/// connection commits; this one never writes).
public struct SQLiteChangeFeed: AllowlistChangeFeed {
    public let path: String
    public let interval: Duration

    public init(path: String, interval: Duration = .milliseconds(25)) {
        self.path = path
        self.interval = interval
    }

    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { [path, interval] in
            var config = Configuration()
            config.readonly = true
            guard let queue = try? DatabaseQueue(path: path, configuration: config) else { continuation.finish(); return }
            var last = try? await queue.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let now = try? await queue.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
                if now != last {
                    last = now
                    continuation.yield()
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
