import CNats
import Foundation
import Synchronization
import UnibusCore
import UnibusNats

/// Who connects: a handle (its inbox prefix is `_INBOX.<handle>`) and, against unibus, its key.
struct Identity: Sendable {
    let handle: String
    let pair: UserKeyPair
}

/// A server to measure: its URL, the TLS material to connect with, and whether it wants nkeys.
struct Target: Sendable {
    let name: String
    let url: String
    let tlsDir: String
    let nkeys: Bool
    /// Directory for the nkey seed files nats.c reads (`natsOptions_SetNKeyFromSeed`).
    let seedDir: String

    /// Options for the Swift client (`NatsConnection`).
    func swiftOptions(_ id: Identity, sendAsap: Bool = false) throws -> NatsConnectOptions {
        var o = NatsConnectOptions(servers: [url], name: "unibus-bench-\(id.handle)", timeout: .seconds(5))
        o.sendAsap = sendAsap
        o.tls = NatsTLSFiles(caFile: "\(tlsDir)/ca.crt", certFile: "\(tlsDir)/client.crt", keyFile: "\(tlsDir)/client.key")
        if nkeys { o.nkey = NatsNKeyCredentials(publicKey: id.pair.nkey, seed: try NatsNKeySeed(id.pair.seed)) }
        o.customInboxPrefix = Subjects.inboxPrefix(try Handle(id.handle))
        o.allowReconnect = false
        return o
    }

    /// A `SU…` seed file (0600) for nats.c.
    func seedFile(_ id: Identity) throws -> String {
        let path = "\(seedDir)/\(id.handle).nk"
        if !FileManager.default.fileExists(atPath: path) {
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data((id.pair.nkeySeed + "\n").utf8),
                    attributes: [.posixPermissions: 0o600])
            else { throw BenchError("cannot write \(path)") }
        }
        return path
    }
}

/// One throughput run: `count` messages published by one connection, received by another.
struct ThroughputSample: Sendable {
    let count: Int
    let received: Int
    /// First publish to last message received.
    let total: Duration
    /// First publish to the publisher's flush returning (the publisher's own rate).
    let publishing: Duration
    /// Asynchronous errors the subscriber's connection reported (slow consumer).
    var subscriberErrors = 0
    var messagesPerSecond: Double { received == count ? Double(count) / total.seconds : 0 }
    var publishRate: Double { Double(count) / publishing.seconds }
}

// MARK: - The Swift client, as the application uses it

enum SwiftClientBench {
    static func throughput(
        _ target: Target, pub: Identity, sub: Identity, subject: String,
        count: Int, size: Int, timeout: Duration
    ) async throws -> ThroughputSample {
        let subConn = try await NatsConnection.connect(try target.swiftOptions(sub))
        let pubConn = try await NatsConnection.connect(try target.swiftOptions(pub))
        let subscription = try await subConn.subscribe(subject)
        try await subConn.flush()
        // Asynchronous errors on the subscriber (slow consumer: nats.c dropped messages because
        // its per-subscription pending queue, 65,536 messages by default, was full).
        let subscriberErrors = Counter()
        let subEvents = subConn.events
        let errorWatcher = Task {
            for await event in subEvents {
                if case .error(let error) = event, subscriberErrors.increment() <= 3 {
                    Log.info("Swift subscriber async error: \(error)")
                }
            }
        }
        let received = Counter()
        let receiver = Task { () -> ContinuousClock.Instant? in
            for await _ in subscription.messages {
                if received.increment() == count { return .now }
            }
            return nil
        }
        let payload = [UInt8](repeating: 0x61, count: size)
        let start = ContinuousClock.now
        for _ in 0..<count { try await pubConn.publish(subject, payload: payload) }
        try await pubConn.flush(timeout: .seconds(60))
        let published = ContinuousClock.now
        let watchdog = Task {
            try? await Task.sleep(for: timeout)
            receiver.cancel()
        }
        let end = await receiver.value
        watchdog.cancel()
        try? await subscription.drain(timeout: .seconds(5))
        await subConn.close()
        await pubConn.close()
        errorWatcher.cancel()
        return ThroughputSample(
            count: count, received: received.value, total: (end ?? .now) - start,
            publishing: published - start, subscriberErrors: subscriberErrors.value)
    }

    /// How the Swift responder gets its reply onto the wire.
    enum ReplyMode: String, CaseIterable, Sendable {
        /// `publish` on a connection with `NatsConnectOptions.sendAsap` (written inside the call).
        case sendAsap = "sendAsap responder"
        /// `publish`, then `flush()` (a PING/PONG round trip that also writes the buffer).
        case flush = "publish + flush()"
        /// `publish` on a default connection: nats.c's flusher writes it after its ~1 ms wait.
        case buffered = "default options (flusher)"
    }

    /// Request/reply round trips (µs): `requester` asks on `subject`, `responder` echoes to the
    /// reply inbox as `mode` says. The requester has default options: `request` always sends at once.
    static func latency(
        _ target: Target, requester: Identity, responder: Identity, subject: String,
        count: Int, warmup: Int, size: Int, mode: ReplyMode = .sendAsap
    ) async throws -> [Double] {
        let respConn = try await NatsConnection.connect(try target.swiftOptions(responder, sendAsap: mode == .sendAsap))
        let reqConn = try await NatsConnection.connect(try target.swiftOptions(requester))
        let service = try await respConn.subscribe(subject)
        let serving = Task {
            for await request in service.messages {
                guard let reply = request.reply else { continue }
                try? await respConn.publish(reply, payload: request.payload)
                if mode == .flush { try? await respConn.flush() }
            }
        }
        try await respConn.flush()
        let payload = [UInt8](repeating: 0x62, count: size)
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for i in 0..<(warmup + count) {
            let t0 = ContinuousClock.now
            _ = try await reqConn.request(subject, payload: payload, timeout: .seconds(5))
            if i >= warmup { samples.append((ContinuousClock.now - t0).microseconds) }
        }
        try? await service.drain(timeout: .seconds(5))
        serving.cancel()
        await reqConn.close()
        await respConn.close()
        return samples
    }

    /// The Swift publisher alone: `count` `publish` calls from one task, then `flush`, received
    /// by the same counting nats.c subscriber the nats.c loop publishes to, so that only the
    /// publisher differs from ``CClientBench/throughput(_:pub:sub:subject:count:size:timeout:)``.
    static func publishRate(
        _ target: Target, pub: Identity, sub: Identity, subject: String,
        count: Int, size: Int, timeout: Duration
    ) async throws -> ThroughputSample {
        let subscriber = try await onThread { try CCountingSubscriber(target, sub, subject: subject, count: count) }
        let pubConn = try await NatsConnection.connect(try target.swiftOptions(pub))
        let payload = [UInt8](repeating: 0x61, count: size)
        let start = nowNanos()
        for _ in 0..<count { try await pubConn.publish(subject, payload: payload) }
        try await pubConn.flush(timeout: .seconds(60))
        let published = nowNanos()
        let result = try await onThread { subscriber.wait(timeout: timeout) }
        await pubConn.close()
        subscriber.close()
        return ThroughputSample(
            count: count, received: result.received, total: .nanoseconds(Int64(result.end - start)),
            publishing: .nanoseconds(Int64(published - start)), subscriberErrors: result.dropped)
    }
}

final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    /// Returns the new value.
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
    var value: Int { count.load(ordering: .relaxed) }
}

// MARK: - nats.c directly: a tight loop on one thread, callbacks in C's own threads

/// Counts async errors (slow consumer, permissions) nats.c reports in the C-client runs.
final class CErrors: Sendable {
    static let shared = CErrors()
    let count = Atomic<Int>(0)
    let connectRetries = Atomic<Int>(0)
}

private func cOnError(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ status: natsStatus, _ closure: UnsafeMutableRawPointer?) {
    let n = CErrors.shared.count.add(1, ordering: .relaxed).newValue
    if n <= 5 {
        var text = String(cString: natsStatus_GetText(status))
        if let nc {
            var detail: UnsafePointer<CChar>?
            _ = natsConnection_GetLastError(nc, &detail)
            if let detail { text += ": " + String(cString: detail) }
        }
        Log.info("nats.c async error: \(text)")
    }
}

/// Counts messages; signals when `target` have arrived.
final class CMessageCounter: @unchecked Sendable {
    let target: Int
    let count = Atomic<Int>(0)
    let lastAt = Atomic<UInt64>(0)
    let done = DispatchSemaphore(value: 0)
    init(target: Int) { self.target = target }
}

private func cCountMessage(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    natsMsg_Destroy(msg)
    guard let closure else { return }
    let counter = Unmanaged<CMessageCounter>.fromOpaque(closure).takeUnretainedValue()
    if counter.count.add(1, ordering: .relaxed).newValue == counter.target {
        counter.lastAt.store(nowNanos(), ordering: .relaxed)
        counter.done.signal()
    }
}

private func cEcho(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    if let reply = natsMsg_GetReply(msg) {
        _ = natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg))
    }
    natsMsg_Destroy(msg)
}

/// One nats.c connection, used from one thread.
final class CConnection: @unchecked Sendable {
    let nc: OpaquePointer

    init(_ target: Target, _ id: Identity, sendAsap: Bool = false) throws {
        var opts: OpaquePointer?
        try Self.check(natsOptions_Create(&opts), "natsOptions_Create")
        defer { natsOptions_Destroy(opts) }
        try Self.check(natsOptions_SetURL(opts, target.url), "set URL")
        try Self.check(natsOptions_SetName(opts, "unibus-bench-c-\(id.handle)"), "set name")
        try Self.check(natsOptions_SetTimeout(opts, 5_000), "set timeout")
        try Self.check(natsOptions_SetAllowReconnect(opts, false), "no reconnect")
        try Self.check(natsOptions_SetSecure(opts, true), "TLS")
        try Self.check(natsOptions_LoadCATrustedCertificates(opts, "\(target.tlsDir)/ca.crt"), "CA")
        try Self.check(natsOptions_LoadCertificatesChain(opts, "\(target.tlsDir)/client.crt", "\(target.tlsDir)/client.key"), "client cert")
        try Self.check(natsOptions_SetCustomInboxPrefix(opts, "_INBOX.\(id.handle)"), "inbox prefix")
        try Self.check(natsOptions_SetErrorHandler(opts, cOnError, nil), "error handler")
        if sendAsap { try Self.check(natsOptions_SetSendAsap(opts, true), "send asap") }
        if target.nkeys {
            try Self.check(natsOptions_SetNKeyFromSeed(opts, id.pair.nkey, try target.seedFile(id)), "nkey")
        }
        var conn: OpaquePointer?
        var status = natsConnection_Connect(&conn, opts)
        // nats.c < 3.10 (Debian's 3.4.1) drops an nkey signature whose first byte is 0x00 from
        // CONNECT, so about 1 connect in 256 is refused with "Authorization Violation" (see
        // Tests/UnibusNatsTests/NatsNKeyNonceTests.swift). A fresh connect gets a fresh nonce:
        // retried, and counted in the report.
        for _ in 0..<2 where status == NATS_CONNECTION_AUTH_FAILED {
            let n = CErrors.shared.connectRetries.add(1, ordering: .relaxed).newValue
            Log.info("nats.c connect as \(id.handle) refused (\(String(cString: natsStatus_GetText(status)))); retry #\(n)")
            usleep(100_000)
            status = natsConnection_Connect(&conn, opts)
        }
        try Self.check(status, "connect to \(target.url) as \(id.handle)")
        nc = conn!
    }

    func close() {
        natsConnection_Close(nc)
    }

    deinit { natsConnection_Destroy(nc) }

    static func check(_ status: natsStatus, _ what: String) throws {
        guard status != NATS_OK else { return }
        let text = nats_GetLastError(nil).map { String(cString: $0) } ?? ""
        throw BenchError("nats.c \(what): \(String(cString: natsStatus_GetText(status))) \(text)")
    }
}

/// A nats.c connection subscribed to `subject` that counts messages in a C callback, with no
/// client-side pending limit (the run measures delivery, not the default 65,536-message cap).
final class CCountingSubscriber: @unchecked Sendable {
    let connection: CConnection
    let counter: CMessageCounter
    let sub: OpaquePointer

    /// Blocking: run it with ``onThread(_:)``.
    init(_ target: Target, _ id: Identity, subject: String, count: Int) throws {
        connection = try CConnection(target, id)
        // Never released: a callback may still be running when the connection closes (a few bytes).
        counter = CMessageCounter(target: count)
        let closure = Unmanaged.passRetained(counter).toOpaque()
        var sub: OpaquePointer?
        try CConnection.check(natsConnection_Subscribe(&sub, connection.nc, subject, cCountMessage, closure), "subscribe")
        self.sub = sub!
        _ = natsSubscription_SetPendingLimits(sub, -1, -1)
        try CConnection.check(natsConnection_FlushTimeout(connection.nc, 5_000), "flush subscriber")
    }

    /// Waits for the last message (blocking): how many arrived, when the last did (or now, on
    /// timeout), and how many nats.c dropped.
    func wait(timeout: Duration) -> (received: Int, end: UInt64, dropped: Int) {
        let arrived = counter.done.wait(timeout: .now() + .nanoseconds(Int(timeout.seconds * 1e9))) == .success
        let end = arrived ? counter.lastAt.load(ordering: .relaxed) : nowNanos()
        var dropped: Int64 = 0
        _ = natsSubscription_GetDropped(sub, &dropped)
        return (counter.count.load(ordering: .relaxed), end, Int(dropped))
    }

    func close() {
        connection.close()
        natsSubscription_Destroy(sub)
    }
}

enum CClientBench {
    /// Blocking: run it with ``onThread(_:)``.
    static func throughput(
        _ target: Target, pub: Identity, sub: Identity, subject: String,
        count: Int, size: Int, timeout: Duration
    ) throws -> ThroughputSample {
        let subscriber = try CCountingSubscriber(target, sub, subject: subject, count: count)
        let pubConn = try CConnection(target, pub)
        let payload = [UInt8](repeating: 0x61, count: size)
        let start = nowNanos()
        var failed: natsStatus = NATS_OK
        subject.withCString { s in
            payload.withUnsafeBytes { bytes in
                for _ in 0..<count {
                    let status = natsConnection_Publish(pubConn.nc, s, bytes.baseAddress, Int32(size))
                    if status != NATS_OK { failed = status; break }
                }
            }
        }
        try CConnection.check(failed, "publish")
        try CConnection.check(natsConnection_FlushTimeout(pubConn.nc, 60_000), "flush publisher")
        let published = nowNanos()
        let result = subscriber.wait(timeout: timeout)
        pubConn.close()
        subscriber.close()
        return ThroughputSample(
            count: count, received: result.received, total: .nanoseconds(Int64(result.end - start)),
            publishing: .nanoseconds(Int64(published - start)), subscriberErrors: result.dropped)
    }

    /// Request/reply round trips (µs) with `natsConnection_Request`; the responder echoes from
    /// its C callback. Both connections send without buffering delay (`SetSendAsap`).
    static func latency(
        _ target: Target, requester: Identity, responder: Identity, subject: String,
        count: Int, warmup: Int, size: Int
    ) throws -> [Double] {
        let respConn = try CConnection(target, responder, sendAsap: true)
        let reqConn = try CConnection(target, requester, sendAsap: true)
        var sub: OpaquePointer?
        try CConnection.check(natsConnection_Subscribe(&sub, respConn.nc, subject, cEcho, nil), "subscribe responder")
        try CConnection.check(natsConnection_FlushTimeout(respConn.nc, 5_000), "flush responder")
        let payload = [UInt8](repeating: 0x62, count: size)
        var samples: [Double] = []
        samples.reserveCapacity(count)
        try subject.withCString { s in
            try payload.withUnsafeBytes { bytes in
                for i in 0..<(warmup + count) {
                    var reply: OpaquePointer?
                    let t0 = nowNanos()
                    let status = natsConnection_Request(&reply, reqConn.nc, s, bytes.baseAddress, Int32(size), 5_000)
                    let t1 = nowNanos()
                    try CConnection.check(status, "request")
                    natsMsg_Destroy(reply)
                    if i >= warmup { samples.append(Double(t1 - t0) / 1e3) }
                }
            }
        }
        reqConn.close()
        respConn.close()
        natsSubscription_Destroy(sub)
        return samples
    }
}
