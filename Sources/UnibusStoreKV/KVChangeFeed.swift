public import UnibusCore
import UnibusNats

/// Signals every change of the users and members buckets, whoever made it (this process,
/// the CLI, another node), by watching both buckets.
///
/// A watch that fails (connection lost, consumer gone) is restarted after a second, and the
/// restart itself is signalled once it has caught up, since a change may have happened while
/// nobody watched: a signal may be spurious, a change is never missed.
public struct KVChangeFeed: AllowlistChangeFeed {
    let buckets: [NatsKeyValue]
    /// Pause before re-watching a bucket whose watch ended.
    public var retryDelay: Duration = .seconds(1)

    /// Watches the users and members buckets of `store`.
    public init(store: KVAllowlistStore) {
        buckets = [store.bucket(.users), store.bucket(.members)]
    }

    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { [buckets, retryDelay] in
            await withTaskGroup(of: Void.self) { group in
                for bucket in buckets {
                    group.addTask { await Self.follow(bucket, retryDelay: retryDelay, continuation: continuation) }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private static func follow(_ bucket: NatsKeyValue, retryDelay: Duration, continuation: AsyncStream<Void>.Continuation) async {
        var restarted = false
        while !Task.isCancelled {
            var live = false
            for await event in bucket.watch() {
                switch event {
                case .caughtUp:
                    live = true
                    if restarted { continuation.yield() }
                case .entry:
                    if live { continuation.yield() }
                case .failed:
                    break
                }
            }
            guard !Task.isCancelled else { return }
            restarted = true
            try? await Task.sleep(for: retryDelay)
        }
    }
}
