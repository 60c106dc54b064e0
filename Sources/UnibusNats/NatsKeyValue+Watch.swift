internal import CNats
import Foundation
import Synchronization

/// What a bucket watch reports, in order.
public enum NatsKVWatchEvent: Sendable, Hashable {
    /// A value, delete or purge: first the current values, later each change.
    case entry(NatsKVEntry)
    /// The current values have all been delivered; what follows is live.
    case caughtUp
    /// The watch failed (e.g. the connection closed); the stream ends after this.
    case failed(NatsKVError)
}

extension NatsKeyValue {
    /// Watches every key of the bucket (`kvStore_WatchAll`): the current values (deletes
    /// included), ``NatsKVWatchEvent/caughtUp``, then each change as it happens.
    ///
    /// nats.c 3.4.1's watcher is synchronous (an ordered consumer read with `kvWatcher_Next`),
    /// so each watch runs on its own thread. Cancel the task iterating the stream to stop it:
    /// the thread notices within half a second, then stops, flushes and destroys the watcher
    /// itself (see ``stopWatcher(_:connection:)``), so nats.c's watcher is only ever touched
    /// from that one thread.
    public func watch() -> AsyncStream<NatsKVWatchEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: NatsKVWatchEvent.self, bufferingPolicy: .unbounded)
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread { [self] in
            runWatch(continuation: continuation, stop: stop)
            continuation.finish()
        }
        thread.name = "unibus.kv.watch.\(bucket)"
        thread.start()
        return stream
    }

    private func runWatch(continuation: AsyncStream<NatsKVWatchEvent>.Continuation, stop: StopFlag) {
        let operation = "watch bucket \(bucket)"
        if let failure = natsLibraryOpened {
            continuation.yield(.failed(NatsKVError.classify(failure, bucket: bucket)))
            return
        }
        var options = kvWatchOptions()
        kvWatchOptions_Init(&options)
        var created: OpaquePointer?
        let status = kvStore_WatchAll(&created, handle.pointer, &options)
        guard status == NATS_OK, let watcher = created else {
            continuation.yield(.failed(NatsKVError.classify(NatsError(status: status, operation: operation), bucket: bucket)))
            return
        }
        defer { Self.stopWatcher(watcher, connection: jetStream.connection) }
        while !stop.isSet {
            var next: OpaquePointer?
            let status = kvWatcher_Next(&next, watcher, 500)
            if status == NATS_TIMEOUT { continue }  // only to look at the stop flag again
            guard status == NATS_OK else {
                continuation.yield(.failed(NatsKVError.classify(NatsError(status: status, operation: operation), bucket: bucket)))
                return
            }
            guard let next else {
                continuation.yield(.caughtUp)
                continue
            }
            continuation.yield(.entry(NatsKVEntry(copying: next)))
            kvEntry_Destroy(next)
        }
    }
}

/// Set once by the stream's termination handler, read by the watch thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
