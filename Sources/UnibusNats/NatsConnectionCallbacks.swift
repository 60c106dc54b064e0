internal import CNats
internal import Crypto
import Foundation
import Synchronization

/// What nats.c's connection callbacks (error, disconnected, reconnected, closed, nkey signing)
/// act on: the event stream, the closed state and the signing key.
///
/// nats.c runs those callbacks on its own threads, and may run the closed callback after
/// `natsConnection_Destroy` returned (the queued callback keeps the C connection alive). So the
/// `void *closure` handed to nats.c is a token, not a pointer: callbacks look it up in
/// ``NatsCallbackRegistry`` and a callback whose token is gone does nothing.
final class NatsConnectionCallbacks: Sendable {
    let events: AsyncStream<NatsConnectionEvent>
    private let continuation: AsyncStream<NatsConnectionEvent>.Continuation
    let signingKey: Curve25519.Signing.PrivateKey?
    private let closedState = Mutex<(isClosed: Bool, waiters: [CheckedContinuation<Void, Never>])>(
        (false, []))
    private let refusedNonce = Mutex(false)

    init(signingKey: Curve25519.Signing.PrivateKey?) {
        // Bounded so an unread stream cannot grow without limit; the newest events win.
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        self.signingKey = signingKey
    }

    func emit(_ event: NatsConnectionEvent) { continuation.yield(event) }

    /// Records the close, ends the stream and wakes ``waitUntilClosed()`` callers. Idempotent.
    func markClosed() {
        let waiters = closedState.withLock { state in
            if state.isClosed { return [CheckedContinuation<Void, Never>]() }
            state.isClosed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        continuation.yield(.closed)
        continuation.finish()
        for waiter in waiters { waiter.resume() }
    }

    /// Records that ``natsSignNonce`` refused a nonce whose signature nats.c would drop.
    func noteRefusedNonce() { refusedNonce.withLock { $0 = true } }

    /// Whether a nonce was refused since the last call; resets the flag.
    func takeRefusedNonce() -> Bool {
        refusedNonce.withLock { flag in
            defer { flag = false }; return flag
        }
    }

    /// Returns once nats.c has reported the connection closed.
    func waitUntilClosed() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let alreadyClosed = closedState.withLock { state in
                if !state.isClosed { state.waiters.append(waiter) }
                return state.isClosed
            }
            if alreadyClosed { waiter.resume() }
        }
    }
}

/// Maps the tokens handed to nats.c as `void *closure` to live ``NatsConnectionCallbacks``.
enum NatsCallbackRegistry {
    private static let table = Mutex<(next: UInt, targets: [UInt: NatsConnectionCallbacks])>((1, [:]))

    /// Registers `callbacks` and returns the non-null pointer-sized token to give nats.c.
    static func register(_ callbacks: NatsConnectionCallbacks) -> UnsafeMutableRawPointer {
        let token = table.withLock { table in
            let token = table.next
            table.next += 1
            table.targets[token] = callbacks
            return token
        }
        return UnsafeMutableRawPointer(bitPattern: token)!
    }

    static func lookup(_ closure: UnsafeMutableRawPointer?) -> NatsConnectionCallbacks? {
        guard let closure else { return nil }
        let token = UInt(bitPattern: closure)
        return table.withLock { $0.targets[token] }
    }

    static func remove(_ closure: UnsafeMutableRawPointer) {
        let token = UInt(bitPattern: closure)
        _ = table.withLock { $0.targets.removeValue(forKey: token) }
    }
}

// MARK: - C callbacks (non-capturing, so they convert to @convention(c) function pointers)

/// `natsErrHandler`: runs on nats.c's async-callback thread, which has just set this thread's
/// last error to the server's text (e.g. `Permissions Violation for Publish to "x"`).
func natsOnAsyncError(
    _ nc: OpaquePointer?, _ sub: OpaquePointer?, _ status: natsStatus, _ closure: UnsafeMutableRawPointer?
) {
    guard let callbacks = NatsCallbackRegistry.lookup(closure) else { return }
    let operation: String
    if let sub, let subject = natsSubscription_GetSubject(sub) {
        operation = "subscription to \(String(cString: subject))"
    } else {
        operation = "asynchronous error from nats-server"
    }
    callbacks.emit(.error(NatsError(status: status, operation: operation)))
}

/// `natsConnectionHandler` for disconnects.
func natsOnDisconnected(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    NatsCallbackRegistry.lookup(closure)?.emit(.disconnected)
}

/// `natsConnectionHandler` for reconnects.
func natsOnReconnected(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    NatsCallbackRegistry.lookup(closure)?.emit(.reconnected)
}

/// `natsConnectionHandler` for the final close: the last callback nats.c makes for a connection.
func natsOnClosed(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure, let callbacks = NatsCallbackRegistry.lookup(closure) else { return }
    NatsCallbackRegistry.remove(closure)
    callbacks.markClosed()
}

/// `natsSignatureHandler`: signs the server's nonce (the bytes of the C string) with ed25519.
/// nats.c frees `*signature` (and `*customErrTxt`), so both are `malloc`ed here.
///
/// nats.c before 3.10.0 (Debian 12 ships 3.4.1) base64-encodes the raw signature with a C-string
/// test, `if (src[0] == '\0') return "nothing"`, so a signature whose first byte is 0x00 (1 nonce
/// in 256) is silently left out of CONNECT and the server answers "Authorization Violation"
/// (nats.c issue #705, commit 4108c7d). Ed25519 is deterministic, so re-signing cannot help;
/// instead such a nonce is refused: that connection attempt fails, ``NatsConnection/connect(_:)``
/// retries, reconnects retry on their own, and the server sends a fresh nonce each time.
func natsSignNonce(
    _ customErrorText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ signature: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ signatureLength: UnsafeMutablePointer<Int32>?,
    _ nonce: UnsafePointer<CChar>?,
    _ closure: UnsafeMutableRawPointer?
) -> natsStatus {
    guard let signature, let signatureLength, let nonce,
        let callbacks = NatsCallbackRegistry.lookup(closure), let key = callbacks.signingKey,
        let signed = try? key.signature(for: Array(UnsafeRawBufferPointer(start: nonce, count: strlen(nonce)))),
        signed.count == 64
    else {
        customErrorText?.pointee = strdup("unibus: cannot sign the nkey nonce")
        return NATS_ERR
    }
    guard signed.first != 0 else {
        callbacks.noteRefusedNonce()
        customErrorText?.pointee = strdup(
            "unibus: refused a nonce whose nkey signature starts with 0x00, which nats.c < 3.10 drops; retry")
        return NATS_ERR
    }
    guard let buffer = malloc(64)?.assumingMemoryBound(to: UInt8.self) else {
        customErrorText?.pointee = strdup("unibus: out of memory for the nkey signature")
        return NATS_ERR
    }
    signed.copyBytes(to: buffer, count: 64)
    signature.pointee = buffer
    signatureLength.pointee = 64
    return NATS_OK
}
