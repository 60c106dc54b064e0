internal import CNats
import Dispatch

/// The outcome of `nats_Open`, run once for the whole process the first time it is read.
///
/// Swift initialises a global `let` exactly once, thread-safely, on first use
/// (the same pattern as swift-nio-ssl's `boringSSLIsInitialized`).
let natsLibraryOpened: NatsError? = {
    // -1: nats.c's default spin count for its internal locks.
    let status = nats_Open(-1)
    guard status != NATS_OK else { return nil }
    return NatsError(status: status, operation: "initialise the nats.c library (nats_Open)")
}()

/// Runs blocking nats.c calls away from Swift's cooperative thread pool.
///
/// Most nats.c calls wait for the server (connect, flush, request, drain, close), so each one
/// runs as a work item on one concurrent `DispatchQueue` whose threads belong to Dispatch, not to
/// the Swift concurrency runtime. (A publish only appends to nats.c's buffer and is called
/// directly; see `NatsConnection.publish`.) A work item makes its call and reads `nats_GetLastError` on the
/// same thread, before it returns, because nats.c keeps that text per thread.
enum NatsRuntime {
    /// Dispatch grows this queue's thread count while work items block (up to its own limit).
    static let blockingQueue = DispatchQueue(
        label: "unibus.nats.blocking", qos: .userInitiated, attributes: .concurrent)

    /// Throws if `nats_Open` failed.
    static func ensureOpen() throws(NatsError) {
        if let failure = natsLibraryOpened { throw failure }
    }

    /// Runs `body` on ``blockingQueue`` and resumes the caller with its result.
    ///
    /// `body` cannot be cancelled once it has started; nats.c's own timeouts bound it.
    static func run<T: Sendable>(
        _ body: @escaping @Sendable () throws(NatsError) -> T
    ) async throws(NatsError) -> T {
        try ensureOpen()
        let result: Result<T, NatsError> = await withCheckedContinuation { continuation in
            blockingQueue.async {
                continuation.resume(returning: Result(catching: body))
            }
        }
        return try result.get()
    }
}

extension NatsRuntime {
    /// Runs `body` on ``blockingQueue`` without waiting for it: for cleanup from `deinit`,
    /// which must not block.
    static func runDetached(_ body: @escaping @Sendable () -> Void) {
        blockingQueue.async(execute: body)
    }
}

extension Duration {
    /// Whole milliseconds, the unit of every nats.c timeout; rounds up so 1 ns is not 0 ("no timeout").
    var natsMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return remainder > 0 ? millis + 1 : millis
    }
}
