internal import CNats
import Synchronization

/// An asynchronous subscription; its messages arrive on ``messages``.
///
/// The single owner of a `natsSubscription*`. ``drain(timeout:)`` (or `deinit`, in the
/// background) removes interest, delivers what is already buffered, and destroys it. It does not
/// keep its ``NatsConnection`` open; closing that connection ends ``messages``.
///
/// A task that iterates `subscription.messages` keeps `subscription` alive, and so subscribed,
/// until the stream ends; take `let messages = subscription.messages` first if the task should
/// not own the subscription.
///
/// ```swift
/// let subscription = try await connection.subscribe("acl.changed")
/// for await message in subscription.messages { handle(message) }   // ends after drain/close
/// ```
public final class NatsSubscription: @unchecked Sendable {
    // @unchecked: `handle` is the only mutable state and sits behind a Mutex; nats.c's
    // subscription functions are thread-safe.

    /// The subject (possibly with wildcards) this subscription listens on.
    public let subject: String
    /// The queue group, if this is a queue subscription.
    public let queue: String?
    /// Messages in arrival order. The stream ends when the subscription is drained, or when
    /// its connection closes. Iterate it from one task.
    public var messages: AsyncStream<NatsMessage> { sink.messages }

    private let handle: Mutex<NatsHandle?>
    private let sink: NatsSubscriptionSink

    init(handle: NatsHandle, sink: NatsSubscriptionSink, subject: String, queue: String?) {
        self.handle = Mutex(handle)
        self.sink = sink
        self.subject = subject
        self.queue = queue
    }

    /// Removes interest, lets the buffered messages reach ``messages`` (which then ends), and
    /// destroys the subscription. Calling it again does nothing.
    /// - Parameter timeout: Bound on the whole drain; past it nats.c closes the subscription and
    ///   buffered messages may be lost.
    /// - Throws: ``NatsError`` if the drain did not complete (e.g. `isTimeout`). The
    ///   subscription is destroyed either way. A closed connection is not an error.
    public func drain(timeout: Duration = .seconds(10)) async throws(NatsError) {
        guard let handle = handle.withLock({ $0.take() }) else { return }
        let subject = subject
        let sink = sink
        let outcome = try await NatsRuntime.run { () -> UInt32 in
            let status = Self.drainThenDestroy(handle.pointer, timeoutMilliseconds: max(1, timeout.natsMilliseconds))
            withExtendedLifetime(sink) {}
            return status.rawValue
        }
        let status = natsStatus(rawValue: outcome)
        guard status == NATS_OK || status == NATS_CONNECTION_CLOSED || status == NATS_INVALID_SUBSCRIPTION else {
            throw NatsError(
                operation: "drain subscription to \(subject)", status: outcome,
                detail: String(cString: natsStatus_GetText(status)))
        }
    }

    deinit {
        guard let handle = handle.withLock({ $0.take() }) else { return }
        let sink = sink
        // Never block a deinit: drain and destroy on the blocking queue.
        NatsRuntime.runDetached {
            _ = Self.drainThenDestroy(handle.pointer, timeoutMilliseconds: 10_000)
            withExtendedLifetime(sink) {}
        }
    }

    /// Drains, waits for the drain to finish, then destroys `sub`; returns how the drain ended.
    ///
    /// nats.c 3.4.1 (Debian 12) can crash in its read loop when a message arrives for a
    /// subscription that another thread is destroying (fixed upstream in 3.6.1, commit
    /// 0a7dd28b; measured here: subscribe/destroy in a loop under a publish flood aborts, crashes
    /// or hangs within 50–200 rounds, and runs clean for 10,000 rounds with the drain). Draining
    /// first closes that window: drain sends UNSUB, flushes (the server's PONG proves no more
    /// messages for this subscription are on the wire), delivers what is buffered, and only then
    /// do we call `natsSubscription_Destroy`. The sink stays retained until the completion
    /// callback and, through the caller, until after the destroy.
    static func drainThenDestroy(_ sub: OpaquePointer, timeoutMilliseconds: Int64) -> natsStatus {
        var status = natsSubscription_DrainTimeout(sub, timeoutMilliseconds)
        if status == NATS_OK {
            // 0 = no timeout of its own: the drain's timeout above bounds it (nats.c closes the
            // subscription when that elapses, which also completes the drain).
            _ = natsSubscription_WaitForDrainCompletion(sub, 0)
            status = natsSubscription_DrainCompletionStatus(sub)
        }
        // Otherwise the drain could not start because the connection or the subscription is
        // already closed (NATS_CONNECTION_CLOSED / NATS_INVALID_SUBSCRIPTION): the read loop no
        // longer delivers to it, so destroying is safe.
        natsSubscription_Destroy(sub)
        return status
    }
}

/// A C handle that may cross threads; its owner guarantees the C object's thread safety.
struct NatsHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
