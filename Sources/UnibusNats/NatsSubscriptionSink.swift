internal import CNats

/// What a subscription's C message handler delivers into: the continuation of its stream.
///
/// nats.c gets `Unmanaged.passRetained(sink)` as the handler's closure. That retain is
/// released by ``natsOnSubscriptionComplete``, which nats.c calls on the delivery thread after
/// the subscription is closed and the last message handler has returned, so the handler never
/// sees a freed sink. ``NatsSubscription`` also holds the sink until it has destroyed the C
/// subscription.
final class NatsSubscriptionSink: Sendable {
    let messages: AsyncStream<NatsMessage>
    private let continuation: AsyncStream<NatsMessage>.Continuation

    init() {
        // Unbounded: nats.c already bounds what it buffers per subscription (65,536 messages /
        // 64 MiB by default) and reports drops as slow-consumer errors on the events stream.
        (messages, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func deliver(_ message: NatsMessage) { continuation.yield(message) }
    func finish() { continuation.finish() }
}

/// `natsMsgHandler`: copies the message, destroys it (the handler owns it), and yields the copy.
/// Runs on the subscription's own delivery thread, one message at a time.
func natsOnMessage(
    _ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?
) {
    guard let msg else { return }  // NULL only for subscriptions with a timeout, which we never create
    let message = NatsMessage(copying: msg)
    natsMsg_Destroy(msg)
    guard let closure else { return }
    Unmanaged<NatsSubscriptionSink>.fromOpaque(closure).takeUnretainedValue().deliver(message)
}

/// `natsOnCompleteCB`: the subscription is closed and no handler call is running or will run;
/// end the stream and drop the retain taken for nats.c.
func natsOnSubscriptionComplete(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<NatsSubscriptionSink>.fromOpaque(closure).takeRetainedValue().finish()
}
