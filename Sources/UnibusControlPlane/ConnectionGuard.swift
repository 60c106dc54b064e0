import Foundation
import NIOCore
import NIOHTTP1

/// Guards one control-plane connection between NIO's HTTP/1 decoder and Hummingbird:
/// - answers what Hummingbird would answer with an empty body (malformed request line, bad method,
///   bad chunk, oversized head) with the contract's JSON error, then closes the connection;
/// - refuses what the router must never see: methods other than GET HEAD POST PUT DELETE (405),
///   more than one `Host`, an HTTP/1.1 request without one, a target that is not a path;
/// - closes idle keep-alive connections, and answers 408 to a request whose head or body is
///   slower than `ConnectionLimits` allows (slowloris, incomplete bodies);
/// - answers HTTP/1.0 as HTTP/1.0 (never chunked) and closes after a response the request asked
///   not to keep alive.
/// The answer to a failed request waits for the responses to the requests before it (pipelining);
/// whatever the application writes for the failed request or after it is dropped.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct RequestInfo {
        var version = HTTPVersion.http1_1
        var keepAlive = true
        var isHead = false
    }

    enum Reading { case waiting, head, body }

    static let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE]

    let limits: ConnectionLimits
    private var context: ChannelHandlerContext?
    private var reading = Reading.waiting
    private var headBytes = 0
    /// Requests passed to the application, and responses it completed.
    private var forwarded = 0, finished = 0
    private var responseOpen = false
    /// Forwarded requests whose response has not started, oldest first; then the one being answered.
    private var pending: [RequestInfo] = []
    private var answering = RequestInfo()
    private var closeAfterResponse = false
    /// Set once: the error this connection ends with, and the request (1-based) it answers.
    private var failure: (error: ConnectionFailure, request: Int, info: RequestInfo)?
    private var answered = false
    private var timer: Scheduled<Void>?
    private var lingering = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// Whether input is no longer read (the connection is failing).
    var dropsInput: Bool { failure != nil }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    // MARK: inbound

    /// Raw bytes are about to reach the decoder (from `InboundBytesWatcher`): a new request begins.
    func bytesArriving() {
        guard failure == nil, reading == .waiting else { return }
        reading = .head
        headBytes = 0
        arm()
    }

    /// The decoder consumed `count` bytes; while the head is still incomplete they count against it.
    func bytesDecoded(_ count: Int) {
        guard failure == nil, reading == .head else { return }
        headBytes += count
        if headBytes > limits.maxHead { fail(.headTooLarge(limits), request: forwarded + 1, info: RequestInfo()) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        switch unwrapInboundIn(data) {
        case .head(var head):
            let info = RequestInfo(version: head.version, keepAlive: head.isKeepAlive, isHead: head.method == .HEAD)
            if let refusal = Self.refusal(of: &head) {
                fail(refusal, request: forwarded + 1, info: info)
                return
            }
            forwarded += 1
            pending.append(info)
            reading = .body
            arm()
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body:
            context.fireChannelRead(data)
        case .end:
            reading = .waiting
            arm()
            context.fireChannelRead(data)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        let inBody = reading == .body
        fail(
            .parser(error, limits: limits), request: inBody ? forwarded : forwarded + 1,
            info: inBody ? pending.last ?? RequestInfo() : RequestInfo(), upstream: inBody ? error : nil)
    }

    /// What the router must not see; absolute-form targets have their authority moved into `Host`.
    static func refusal(of head: inout HTTPRequestHead) -> ConnectionFailure? {
        guard head.version == .http1_1 || head.version == .http1_0 else {
            return .invalid("only HTTP/1.1 and HTTP/1.0 are served", status: .httpVersionNotSupported)
        }
        guard methods.contains(head.method) else {
            var refusal = ConnectionFailure.invalid(
                "method \(head.method.rawValue) is not supported: the API uses GET, POST, PUT and DELETE", status: .methodNotAllowed)
            refusal.allow = "GET, HEAD, POST, PUT, DELETE"
            return refusal
        }
        if !head.uri.hasPrefix("/") {
            guard let scheme = head.uri.range(of: "://") else { return .invalid("the request target must be a path, e.g. /v1/me") }
            let rest = head.uri[scheme.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            guard !authority.isEmpty else { return .invalid("the request target names no host") }
            head.headers.replaceOrAdd(name: "host", value: String(authority))
        }
        let hosts = head.headers["host"].count
        if hosts > 1 { return .invalid("the request carries \(hosts) Host fields; send one") }
        if hosts == 0 && head.version == .http1_1 { return .invalid("an HTTP/1.1 request must carry Host") }
        return nil
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let failure, answered || finished + 1 >= failure.request {
            promise?.succeed(())  // the guard answers this request itself
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            answering = pending.isEmpty ? RequestInfo() : pending.removeFirst()
            responseOpen = true
            if answering.version == .http1_0 { head.version = .http1_0 }
            closeAfterResponse =
                !answering.keepAlive || answering.version == .http1_0
                || head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            if closeAfterResponse { head.headers.replaceOrAdd(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            if answering.isHead { promise?.succeed(()) } else { context.write(data, promise: promise) }
        case .end:
            responseOpen = false
            finished += 1
            if closeAfterResponse {
                writeThenClose(context, [data], promise: promise)
            } else {
                context.write(data, promise: promise)
                arm()
                answerIfDue()
            }
        }
    }

    // MARK: failing

    /// Ends the connection with `error` as the answer to request number `request`.
    private func fail(_ error: ConnectionFailure, request: Int, info: RequestInfo, upstream: (any Error)? = nil) {
        guard failure == nil, let context else { return }
        failure = (error, request, info)
        if let upstream { context.fireErrorCaught(upstream) }  // the application's body read fails, never ends short
        arm()
        if finished >= request {  // already answered by the application
            answered = true
            context.close(promise: nil)
        } else {
            answerIfDue()
        }
    }

    private func answerIfDue() {
        guard let failure, let context, !answered, !responseOpen, finished == failure.request - 1 else { return }
        answered = true
        writeThenClose(
            context, failure.error.parts(version: failure.info.version, head: failure.info.isHead).map { wrapOutboundOut($0) }, promise: nil)
    }

    private func writeThenClose(_ context: ChannelHandlerContext, _ parts: [NIOAny], promise: EventLoopPromise<Void>?) {
        for part in parts.dropLast() { context.write(part, promise: nil) }
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        context.writeAndFlush(parts[parts.count - 1], promise: written)
    }

    // MARK: timers

    /// One timer at a time, for the current phase.
    private func arm() {
        guard let context else { return }
        if failure != nil {
            // one last bound: the answer waits for earlier responses at most this long
            if !lingering { schedule(context, limits.linger) { $0.context?.close(promise: nil) } }
            lingering = true
            return
        }
        switch reading {
        case .head:
            schedule(context, limits.head) { $0.fail(.timeout("head", $0.limits.head), request: $0.forwarded + 1, info: RequestInfo()) }
        case .body:
            schedule(context, limits.body) {
                $0.fail(
                    .timeout("body", $0.limits.body), request: $0.forwarded, info: $0.pending.last ?? RequestInfo(), upstream: ConnectionTimeout())
            }
        case .waiting where finished == forwarded && !responseOpen:
            schedule(context, forwarded == 0 ? limits.head : limits.idle) { $0.context?.close(promise: nil) }
        case .waiting:
            timer?.cancel()
            timer = nil  // the application is working on a request
        }
    }

    private func schedule(_ context: ChannelHandlerContext, _ amount: TimeAmount, _ fire: @escaping (ConnectionGuard) -> Void) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [self] in
            timer = nil
            fire(self)
        }
    }
}

/// What the application's body read throws when the body was too slow (the guard answers 408).
struct ConnectionTimeout: Error {}

/// Tells the guard when raw request bytes arrive, before NIO's HTTP decoder sees them.
final class InboundBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let connectionGuard: ConnectionGuard

    init(_ connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        guard count > 0, !connectionGuard.dropsInput else { return }
        connectionGuard.bytesArriving()
        context.fireChannelRead(data)
        connectionGuard.bytesDecoded(count)
    }
}
