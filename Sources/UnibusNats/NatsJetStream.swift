internal import CNats
import Foundation

/// A JetStream context on one connection: the single owner of a nats.c `jsCtx*`.
///
/// Every blocking call runs on ``NatsRuntime``'s Dispatch queue, never on the cooperative pool.
/// `wait` bounds each JetStream API request and each KV write's acknowledgement.
///
/// ```swift
/// let connection = try await NatsConnection.connect(NatsConnectOptions(servers: [url]))
/// let js = try await NatsJetStream(connection: connection, wait: .seconds(5))
/// let users = try await js.keyValue(NatsKVBucketConfig(bucket: "UNIBUS_users", replicas: 3))
/// ```
public final class NatsJetStream: @unchecked Sendable {
    // @unchecked: `handle` never changes after init and nats.c's jsCtx is thread-safe (it
    // takes its own lock); it is destroyed only in deinit.
    let handle: NatsHandle
    /// The connection the context uses; kept alive as long as the context.
    public let connection: NatsConnection
    /// Bound on each JetStream API request and KV acknowledgement.
    public let wait: Duration

    /// Creates the context and checks that the server has JetStream.
    /// - Throws: ``NatsKVError/jetStreamDisabled(server:detail:)`` when nothing answers on
    ///   `$JS.API` (no `jetstream {}` block) or the account has none;
    ///   ``NatsKVError/unavailable(operation:detail:)`` on a timeout.
    public init(connection: NatsConnection, wait: Duration = .seconds(5)) async throws(NatsKVError) {
        self.connection = connection
        self.wait = wait
        let server = connection.serverList
        let waitMilliseconds = max(1, wait.natsMilliseconds)
        let created = await Self.runKV { () throws(NatsError) -> NatsHandle in
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Wait = waitMilliseconds
            var js: OpaquePointer?
            try NatsError.check(
                natsConnection_JetStream(&js, connection.handle.pointer, &options), "create a JetStream context")
            return NatsHandle(pointer: js!)
        }
        switch created {
        case .success(let js): handle = js
        case .failure(let error): throw NatsKVError.classify(error, bucket: "-")
        }
        try await checkEnabled(server: server)
    }

    deinit {
        let handle = handle
        let connection = connection
        NatsRuntime.runDetached {
            jsCtx_Destroy(handle.pointer)
            withExtendedLifetime(connection) {}
        }
    }

    /// `$JS.API.INFO`: a server without JetStream has no responder there (`NATS_NO_RESPONDERS`
    /// at once); an account without it answers 10039.
    private func checkEnabled(server: String) async throws(NatsKVError) {
        let handle = handle
        let result = await Self.runKV { () throws(NatsError) -> Void in
            var info: UnsafeMutablePointer<jsAccountInfo>?
            var code = jsErrCode(rawValue: 0)
            let status = js_GetAccountInfo(&info, handle.pointer, nil, &code)
            defer { if let info { jsAccountInfo_Destroy(info) } }
            if status != NATS_OK, code == JSNotEnabledForAccountErr || code == JSNotEnabledErr {
                throw NatsError(
                    operation: "JetStream account info", status: NATS_NO_RESPONDERS.rawValue,
                    detail: NatsError.lastErrorText(for: status))
            }
            try NatsError.check(status, "JetStream account info")
        }
        switch result {
        case .success: return
        case .failure(let error) where error.isNoResponders:
            throw .jetStreamDisabled(server: server, detail: "no JetStream responder: \(error.detail)")
        case .failure(let error):
            throw NatsKVError.classify(error, bucket: "-")
        }
    }

    /// Makes sure the bucket's stream exists with `config` (creating it with `js_AddStream` if
    /// absent), then binds it with `js_KeyValue`.
    /// - Throws: ``NatsKVError/bucketConflict(bucket:stream:differences:)`` if the stream exists
    ///   with other replicas, another max age, direct get allowed, or any other KV setting changed.
    public func keyValue(_ config: NatsKVBucketConfig) async throws(NatsKVError) -> NatsKeyValue {
        try await ensureStream(config)
        return try await bind(config.bucket, maxAge: config.maxAge)
    }

    /// Binds an existing bucket without creating or checking its stream.
    public func bind(_ bucket: String, maxAge: Duration? = nil) async throws(NatsKVError) -> NatsKeyValue {
        let handle = handle
        let result = await Self.runKV { () throws(NatsError) -> NatsHandle in
            var kv: OpaquePointer?
            try NatsError.check(js_KeyValue(&kv, handle.pointer, bucket), "bind KV bucket \(bucket)")
            return NatsHandle(pointer: kv!)
        }
        switch result {
        case .success(let kv): return NatsKeyValue(handle: kv, bucket: bucket, maxAge: maxAge, jetStream: self)
        case .failure(let error): throw NatsKVError.classify(error, bucket: bucket)
        }
    }

    /// Runs a nats.c body on the blocking queue and returns its outcome as a `Result`, so
    /// callers can classify a `NatsError` into a ``NatsKVError``.
    static func runKV<T: Sendable>(_ body: @escaping @Sendable () throws(NatsError) -> T) async -> Result<T, NatsError> {
        do { return .success(try await NatsRuntime.run(body)) } catch { return .failure(error) }
    }
}
