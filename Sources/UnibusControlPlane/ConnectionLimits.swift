public import NIOCore

/// How long and how large a control-plane connection may be (contract section 4: idle, slow or
/// incomplete connections are closed after a bounded time). Documented in the README.
public struct ConnectionLimits: Sendable, Equatable {
    /// A kept-alive connection with no request in progress is closed after this (silently).
    public var idle: TimeAmount
    /// From the first byte of a request (or the TCP accept, TLS handshake included, for the
    /// first request) to its complete head: otherwise 408 `timeout` and the connection is closed.
    public var head: TimeAmount
    /// From the head to the end of the body: otherwise 408 `timeout` and the connection is closed.
    public var body: TimeAmount
    /// Request line plus header fields, in bytes: beyond, 431 `too-large`.
    public var maxHead: Int
    /// One header field (name and value), in bytes: beyond, 431 `too-large`.
    public var maxHeaderField: Int
    /// Header fields per request: beyond, 431 `too-large`.
    public var maxHeaderCount: Int
    /// Open connections at once: one more is closed at accept, before its TLS handshake, so
    /// connections parked within the time bounds cannot exhaust the process's file descriptors.
    public var maxConnections: Int

    public init(
        idle: TimeAmount, head: TimeAmount, body: TimeAmount, maxHead: Int = 32 * 1024, maxHeaderField: Int = 16 * 1024,
        maxHeaderCount: Int = 100, maxConnections: Int = 512
    ) {
        self.idle = idle
        self.head = head
        self.body = body
        self.maxHead = maxHead
        self.maxHeaderField = maxHeaderField
        self.maxHeaderCount = maxHeaderCount
        self.maxConnections = maxConnections
    }

    /// Idle 30 s, request head 10 s, body 10 s; head at most 32 KiB, a field 16 KiB, 100 fields;
    /// 512 connections at once.
    public static let standard = Self(idle: .seconds(30), head: .seconds(10), body: .seconds(10))

    /// A whole request's worth of time: how long a connection that failed is kept to flush its answer.
    var linger: TimeAmount { head }
}
