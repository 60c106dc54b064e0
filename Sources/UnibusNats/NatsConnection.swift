internal import CNats
public import Foundation
import Synchronization

/// A connection to nats-server through nats.c: the single owner of one `natsConnection*`.
///
/// Every nats.c call that waits (connect, flush, request, subscribe, drain, close) runs on a
/// dedicated Dispatch queue, never on Swift's cooperative pool; each method awaits it.
/// ``publish(_:payload:reply:)`` only buffers, so it runs on the caller's thread. Asynchronous
/// errors (notably permission violations), disconnects and reconnects arrive on ``events``.
///
/// ```swift
/// let connection = try await NatsConnection.connect(NatsConnectOptions(servers: ["nats://127.0.0.1:4222"]))
/// let subscription = try await connection.subscribe("greet.*")
/// try await connection.publish("greet.ana", payload: Array("hi".utf8))
/// try await connection.drain()
/// ```
public final class NatsConnection: @unchecked Sendable {
    // @unchecked: `handle` never changes after init and nats.c serialises access to the
    // connection behind its own mutex; the mutable Swift state lives in `callbacks`, behind a
    // Mutex, and the publish counter is atomic. The C connection is destroyed only in deinit, so
    // every method sees a live pointer.
    let handle: NatsHandle  // internal: NatsJetStream creates its jsCtx from it
    private let callbacks: NatsConnectionCallbacks
    /// Publishes made so far, for the occasional yield (see `publish`).
    private let publishCount = Atomic<UInt>(0)

    /// The seed URLs this connection was made with, comma-separated (for messages and logs).
    public let serverList: String

    /// Asynchronous events in order: errors, disconnects, reconnects, and finally ``NatsConnectionEvent/closed``,
    /// after which the stream ends. It keeps the newest 256 unread events. Iterate it from one task.
    public var events: AsyncStream<NatsConnectionEvent> { callbacks.events }

    private init(handle: NatsHandle, callbacks: NatsConnectionCallbacks, serverList: String) {
        self.handle = handle
        self.callbacks = callbacks
        self.serverList = serverList
    }

    /// Connects, with TLS and nkey authentication when the options ask for them.
    ///
    /// Blocks a Dispatch thread (not the caller's) for at most about `options.timeout` per server.
    /// - Parameter options: Servers, TLS files, credentials and reconnect policy.
    /// - Returns: A connected connection.
    /// - Throws: ``NatsError`` whose operation is `connect to <urls>`: `isAuthFailed` for an
    ///   unknown nkey ("Authorization Violation"); status 6 (`NATS_NO_SERVER`, within a
    ///   millisecond) when nothing listens; status 2 or 3 (`NATS_PROTOCOL_ERROR` "Expected 'PONG'"
    ///   / `NATS_IO_ERROR` "SSL_write error") when the server drops a connection without a
    ///   trusted client certificate; status 29 (`NATS_SSL_ERROR`) when the server's certificate
    ///   does not verify.
    public static func connect(_ options: NatsConnectOptions) async throws(NatsError) -> NatsConnection {
        try NatsRuntime.ensureOpen()
        let callbacks = NatsConnectionCallbacks(signingKey: options.nkey?.seed.signingKey)
        let closure = NatsCallbackRegistry.register(callbacks)
        var attempt = 1
        while true {
            do {
                let handle = try await connectOnce(options, closure: NatsHandle(pointer: OpaquePointer(closure)))
                return NatsConnection(handle: handle, callbacks: callbacks, serverList: options.serverList)
            } catch {
                // The nkey signature handler refused a nonce nats.c 3.4.1 would mangle (see
                // `natsSignNonce`); a new attempt gets a new nonce. Odds of 4 refusals: 2^-32.
                if callbacks.takeRefusedNonce() && attempt < 4 {
                    attempt += 1
                    continue
                }
                // A failed connect makes no callbacks; any late one would find no token and do nothing.
                NatsCallbackRegistry.remove(closure)
                callbacks.markClosed()
                throw error
            }
        }
    }

    /// One `natsConnection_Connect` with fresh `natsOptions`, on the blocking queue.
    private static func connectOnce(_ options: NatsConnectOptions, closure: NatsHandle) async throws(NatsError)
        -> NatsHandle
    {
        try await NatsRuntime.run { () throws(NatsError) -> NatsHandle in
            let opts = try options.makeNatsOptions(closure: UnsafeMutableRawPointer(closure.pointer))
            defer { natsOptions_Destroy(opts) }
            var connection: OpaquePointer?
            let status = natsConnection_Connect(&connection, opts)
            try NatsError.check(status, "connect to \(options.serverList)")
            return NatsHandle(pointer: connection!)
        }
    }

    deinit {
        let handle = handle
        let callbacks = callbacks
        // Close can block (final flush, joining nats.c's threads), so it never runs in deinit's
        // thread. Close before Destroy; the closed callback then unregisters `callbacks`.
        NatsRuntime.runDetached {
            natsConnection_Close(handle.pointer)
            natsConnection_Destroy(handle.pointer)
            withExtendedLifetime(callbacks) {}
        }
    }

    // MARK: State

    /// The current state (`natsConnection_Status`; takes nats.c's connection lock briefly).
    public var status: NatsConnectionStatus { NatsConnectionStatus(natsConnection_Status(handle.pointer)) }

    /// Whether the connection is closed for good.
    public var isClosed: Bool { natsConnection_IsClosed(handle.pointer) }

    /// The last error nats.c recorded on this connection (e.g. the last permission violation), if any.
    public var lastError: NatsError? {
        var text: UnsafePointer<CChar>?
        let status = natsConnection_GetLastError(handle.pointer, &text)
        guard status != NATS_OK else { return nil }
        let detail = text.map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        return NatsError(
            operation: "connection to \(serverList)", status: status.rawValue,
            detail: detail ?? String(cString: natsStatus_GetText(status)))
    }

    // MARK: Publishing

    /// Publishes `payload` on `subject`, optionally with a reply subject.
    ///
    /// Calls `natsConnection_Publish` on the caller's thread, with no hop to another thread:
    /// nats.c appends the message to its write buffer, which its flusher thread writes out about
    /// 1 ms later (the publish itself writes it with ``NatsConnectOptions/sendAsap``, or when the
    /// 32 KiB buffer is full). Such a write blocks only while the kernel's socket buffer is full,
    /// i.e. while the server is not reading (back-pressure); while reconnecting, nats.c buffers
    /// in memory instead. Every 128th publish on a connection yields, so a publish loop does not
    /// starve other tasks.
    ///
    /// Returns once nats.c has buffered the message, not when the server has it: a refused
    /// publish (permissions) is reported later on ``events``. Use ``flush(timeout:)`` to wait.
    /// - Throws: ``NatsError``, e.g. `isConnectionClosed`, or an invalid subject.
    public func publish(_ subject: String, payload: [UInt8], reply: String? = nil) async throws(NatsError) {
        try payload.withUnsafeBytes { bytes in publishNow(subject, bytes, reply: reply) }.get()
        await yieldOccasionally()
    }

    /// Publishes `payload` on `subject`; the same as the `[UInt8]` overload.
    public func publish(_ subject: String, payload: Data, reply: String? = nil) async throws(NatsError) {
        try payload.withUnsafeBytes { bytes in publishNow(subject, bytes, reply: reply) }.get()
        await yieldOccasionally()
    }

    /// One `natsConnection_Publish`/`PublishRequest` on the calling thread; the error text is
    /// read on that same thread, right after the call.
    private func publishNow(_ subject: String, _ bytes: UnsafeRawBufferPointer, reply: String?) -> Result<Void, NatsError> {
        guard bytes.count <= Int(Int32.max) else {
            return .failure(.invalidArgument("publish to \(subject)", "payload of \(bytes.count) bytes is too large"))
        }
        let status =
            if let reply {
                natsConnection_PublishRequest(handle.pointer, subject, reply, bytes.baseAddress, Int32(bytes.count))
            } else {
                natsConnection_Publish(handle.pointer, subject, bytes.baseAddress, Int32(bytes.count))
            }
        return Result { () throws(NatsError) in try NatsError.check(status, "publish to \(subject)") }
    }

    /// Yields on every 128th publish of this connection: a publish never suspends otherwise, and
    /// a `while true { try await publish(…) }` loop must leave room for other tasks.
    private func yieldOccasionally() async {
        if publishCount.add(1, ordering: .relaxed).newValue & 127 == 0 { await Task.yield() }
    }

    /// Bytes published but not yet written to the socket (`natsConnection_Buffered`); 0 once the
    /// flusher (or, with ``NatsConnectOptions/sendAsap``, the publish itself) wrote them, and 0
    /// when closed.
    public var bufferedByteCount: Int { max(0, Int(natsConnection_Buffered(handle.pointer))) }

    /// Waits until the server has processed everything sent so far (a PING/PONG round trip).
    /// - Throws: ``NatsError`` (`isTimeout` if no PONG in time).
    public func flush(timeout: Duration = .seconds(5)) async throws(NatsError) {
        try await NatsRuntime.run { [handle, serverList] () throws(NatsError) in
            let status = natsConnection_FlushTimeout(handle.pointer, max(1, timeout.natsMilliseconds))
            try NatsError.check(status, "flush connection to \(serverList)")
        }
    }

    /// Sends a request and waits for the first reply.
    /// - Returns: The reply message.
    /// - Throws: ``NatsError``: `isNoResponders` when nobody subscribes to `subject`, `isTimeout`
    ///   when nobody answered in time (also what a refused reply inbox looks like).
    public func request(_ subject: String, payload: [UInt8], timeout: Duration) async throws(NatsError) -> NatsMessage {
        guard payload.count <= Int(Int32.max) else {
            throw .invalidArgument("request on \(subject)", "payload of \(payload.count) bytes is too large")
        }
        return try await NatsRuntime.run { [handle] () throws(NatsError) -> NatsMessage in
            var reply: OpaquePointer?
            let status = payload.withUnsafeBytes { bytes in
                natsConnection_Request(
                    &reply, handle.pointer, subject, bytes.baseAddress, Int32(bytes.count),
                    max(1, timeout.natsMilliseconds))
            }
            try NatsError.check(status, "request on \(subject)")
            guard let reply else {
                throw NatsError(
                    operation: "request on \(subject)", status: NATS_ERR.rawValue, detail: "no reply message")
            }
            defer { natsMsg_Destroy(reply) }
            return NatsMessage(copying: reply)
        }
    }

    /// Sends a request and waits for the first reply; the same as the `[UInt8]` overload.
    public func request(_ subject: String, payload: Data, timeout: Duration) async throws(NatsError) -> NatsMessage {
        try await request(subject, payload: [UInt8](payload), timeout: timeout)
    }

    // MARK: Subscribing

    /// Subscribes to `subject` (wildcards allowed), optionally as a member of a queue group.
    ///
    /// nats.c starts one delivery thread per subscription. The server may still refuse the
    /// subscription (permissions): that arrives on ``events`` and the stream simply stays quiet.
    /// - Returns: The subscription; keep it, since dropping it unsubscribes.
    public func subscribe(_ subject: String, queue: String? = nil) async throws(NatsError) -> NatsSubscription {
        let sink = NatsSubscriptionSink()
        let handle = try await NatsRuntime.run { [handle] () throws(NatsError) -> NatsHandle in
            let closure = Unmanaged.passRetained(sink).toOpaque()
            var sub: OpaquePointer?
            let status =
                if let queue {
                    natsConnection_QueueSubscribe(&sub, handle.pointer, subject, queue, natsOnMessage, closure)
                } else {
                    natsConnection_Subscribe(&sub, handle.pointer, subject, natsOnMessage, closure)
                }
            guard status == NATS_OK, let sub else {
                let error = NatsError(status: status, operation: "subscribe to \(subject)")
                Unmanaged<NatsSubscriptionSink>.fromOpaque(closure).release()  // nats.c never saw it
                throw error
            }
            if natsSubscription_SetOnCompleteCB(sub, natsOnSubscriptionComplete, closure) != NATS_OK {
                // Already closed (the connection closed under us). The delivery thread may still
                // be inside the handler, so the retain is deliberately leaked (one small object).
                sink.finish()
            }
            return NatsHandle(pointer: sub)
        }
        return NatsSubscription(handle: handle, sink: sink, subject: subject, queue: queue)
    }

    // MARK: Closing

    /// Drains, then closes: subscriptions stop receiving and deliver what they buffered,
    /// pending publishes are flushed, then the connection closes. Returns once it is closed.
    /// Does nothing if already closed.
    /// - Parameter timeout: Bound on the whole drain; past it nats.c closes anyway.
    /// - Throws: ``NatsError`` if the drain could not start (e.g. while reconnecting).
    public func drain(timeout: Duration = .seconds(30)) async throws(NatsError) {
        let started = try await NatsRuntime.run { [handle, serverList] () throws(NatsError) -> Bool in
            let status = natsConnection_DrainTimeout(handle.pointer, max(1, timeout.natsMilliseconds))
            if status == NATS_CONNECTION_CLOSED { return false }
            try NatsError.check(status, "drain connection to \(serverList)")
            return true
        }
        if started { await callbacks.waitUntilClosed() }
    }

    /// Closes at once (after a short final flush); buffered messages may be dropped. Returns once
    /// nats.c has reported the close on ``events``. Idempotent.
    public func close() async {
        _ = try? await NatsRuntime.run { [handle] in natsConnection_Close(handle.pointer) }
        await callbacks.waitUntilClosed()
    }
}
