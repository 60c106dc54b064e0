import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Hummingbird's HTTP/1 child channel with a `ConnectionGuard` behind NIO's decoder and an
/// `InboundBytesWatcher` in front of it (see `ConnectionGuard`), and the decoder's header limits
/// from `ConnectionLimits`.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let limits: ConnectionLimits
    let open = OpenConnections()

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits) {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maxHeaderField, maxHeaderListSize: limits.maxHead, maxHeaderFieldCount: limits.maxHeaderCount)
        base = HTTP1Channel(responder: responder, configuration: .init(httpDecoderConfiguration: decoder))
        self.limits = limits
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard open.admit(limit: limits.maxConnections) else {
            logger.warning("control plane: \(limits.maxConnections) connections open, closing a new one")
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ChannelError.inputClosed)
        }
        channel.closeFuture.whenComplete { [open] _ in open.release() }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { [limits] value in
            let pipeline = channel.pipeline.syncOperations
            let connectionGuard = ConnectionGuard(limits: limits)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
            try pipeline.addHandler(connectionGuard, position: .after(decoder))
            try pipeline.addHandler(InboundBytesWatcher(connectionGuard), position: .before(encoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// How many control-plane connections are open, shared by every child channel of one listener.
final class OpenConnections: Sendable {
    private let count = Atomic(0)

    /// Counts a new connection in, unless `limit` are open already.
    func admit(limit: Int) -> Bool {
        if count.add(1, ordering: .relaxed).newValue <= limit { return true }
        count.subtract(1, ordering: .relaxed)
        return false
    }

    func release() { count.subtract(1, ordering: .relaxed) }
}

extension HTTPServerBuilder {
    /// HTTPS/1.1 with the control plane's connection guard.
    static func guardedHTTPS(tls: TLSConfiguration, limits: ConnectionLimits) -> HTTPServerBuilder {
        .init { responder in try TLSChannel(GuardedHTTP1Channel(responder: responder, limits: limits), tlsConfiguration: tls) }
    }
}
