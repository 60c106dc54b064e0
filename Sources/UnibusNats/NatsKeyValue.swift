internal import CNats
public import Foundation

/// One KV bucket: the single owner of a nats.c `kvStore*`. Made by ``NatsJetStream/keyValue(_:)``.
///
/// Reads go to the stream leader (the bucket's stream has direct get off), writes wait for the
/// leader's acknowledgement (at most the context's `wait`). Every call runs off the cooperative
/// pool.
///
/// ```swift
/// let revision = try await bucket.create("alice", value: Data("{}".utf8))
/// _ = try await bucket.update("alice", value: Data("{\"x\":1}".utf8), revision: revision)
/// ```
public final class NatsKeyValue: @unchecked Sendable {
    // @unchecked: `handle` never changes after init; nats.c's kvStore is thread-safe.
    let handle: NatsHandle
    /// The bucket name.
    public let bucket: String
    /// The bucket's max age, if any (a listing of such a bucket cannot prove freshness, see
    /// ``entries()``).
    public let maxAge: Duration?
    /// The context this bucket was bound with (kept alive with it).
    public let jetStream: NatsJetStream

    init(handle: NatsHandle, bucket: String, maxAge: Duration?, jetStream: NatsJetStream) {
        self.handle = handle
        self.bucket = bucket
        self.maxAge = maxAge
        self.jetStream = jetStream
    }

    deinit {
        let handle = handle
        let jetStream = jetStream
        NatsRuntime.runDetached {
            kvStore_Destroy(handle.pointer)
            withExtendedLifetime(jetStream) {}
        }
    }

    /// `$KV.<bucket>.<key>`.
    func subject(_ key: String) -> String { "$KV.\(bucket).\(key)" }

    /// Runs `body` off the pool after checking `key`, classifying failures for this bucket.
    func run<T: Sendable>(
        key: String, _ body: @escaping @Sendable () throws(NatsError) -> T
    ) async throws(NatsKVError) -> T {
        guard NatsKVEntry.isValidKey(key) else { throw .invalidKey(bucket: bucket, key: key) }
        // While nats-server 2.9.10 applies an authorization reload it re-enables JetStream for
        // the account, and for a few milliseconds JetStream API requests get "no responders"
        // or "JetStream not enabled for account" (measured: 7 of ~8,000 reads during 37
        // reloads; none on 2.15.1). Such a request did nothing: retry for up to
        // `noRespondersGrace`, then report it (a real loss of quorum outlasts the grace and
        // still fails closed).
        let deadline = ContinuousClock.now + Self.noRespondersGrace
        while true {
            switch await NatsJetStream.runKV(body) {
            case .success(let value): return value
            case .failure(let error) where error.isTransientDuringReload && ContinuousClock.now < deadline:
                try? await Task.sleep(for: .milliseconds(20))
            case .failure(let error): throw NatsKVError.classify(error, bucket: bucket, key: key)
            }
        }
    }

    /// How long "no responders" is retried before it counts as unavailability.
    static let noRespondersGrace = Duration.seconds(1)

    /// The current value of `key`, or nil if it has none (never written, deleted or purged).
    /// Answered by the stream leader.
    public func get(_ key: String) async throws(NatsKVError) -> NatsKVEntry? {
        try await run(key: key) { [handle, bucket] () throws(NatsError) -> NatsKVEntry? in
            var entry: OpaquePointer?
            let status = kvStore_Get(&entry, handle.pointer, key)
            if status == NATS_NOT_FOUND { return nil }
            try NatsError.check(status, "get key '\(key)' from bucket \(bucket)")
            defer { kvEntry_Destroy(entry) }
            return NatsKVEntry(copying: entry!)
        }
    }

    /// Writes `value` only if `key` has no value (never written, or deleted).
    /// - Returns: the new revision.
    /// - Throws: ``NatsKVError/wrongLastSequence(bucket:key:detail:)`` if it has one.
    public func create(_ key: String, value: Data) async throws(NatsKVError) -> UInt64 {
        let js = jetStream.handle
        return try await run(key: key) { [handle, bucket, subject = subject(key), stream = "KV_\(bucket)"] () throws(NatsError) -> UInt64 in
            // Not kvStore_Create: after its failed first attempt it re-reads the key, and when
            // that read finds nothing nats.c 3.4.1 clears the thread's error text, so the
            // "wrong last sequence" that tells a conflict apart would be lost. Same steps here,
            // keeping the text.
            do throws(NatsError) {
                return try Self.write(handle, key: key, value: value, expecting: 0, bucket: bucket)
            } catch let error where error.isWrongLastSequence {
                guard let marker = try Self.deleteMarker(js, stream: stream, subject: subject) else { throw error }
                return try Self.write(handle, key: key, value: value, expecting: marker, bucket: bucket)
            }
        }
    }

    /// Writes `value` only if the key's current revision is `revision` (revision-checked).
    /// - Throws: ``NatsKVError/wrongLastSequence(bucket:key:detail:)`` if another writer changed it.
    public func update(_ key: String, value: Data, revision: UInt64) async throws(NatsKVError) -> UInt64 {
        precondition(revision > 0, "update needs the revision read; use create for a new key")
        return try await run(key: key) { [handle, bucket] () throws(NatsError) -> UInt64 in
            try Self.write(handle, key: key, value: value, expecting: revision, bucket: bucket)
        }
    }

    /// Writes `value` whatever the key holds.
    public func put(_ key: String, value: Data) async throws(NatsKVError) -> UInt64 {
        try await run(key: key) { [handle, bucket] () throws(NatsError) -> UInt64 in
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Put(&revision, handle.pointer, key, bytes.baseAddress, Int32(bytes.count))
            }
            try NatsError.check(status, "put key '\(key)' in bucket \(bucket)")
            return revision
        }
    }

    /// Deletes `key` (a delete marker); with `revision`, only if that is still its revision.
    public func delete(_ key: String, revision: UInt64? = nil) async throws(NatsKVError) {
        let js = jetStream.handle
        try await run(key: key) { [handle, bucket, subject = subject(key)] () throws(NatsError) in
            guard let revision else {
                try NatsError.check(kvStore_Delete(handle.pointer, key), "delete key '\(key)' from bucket \(bucket)")
                return
            }
            // kvStore_Delete has no expected revision in 3.4.1: publish the marker ourselves.
            var msg: OpaquePointer?
            try NatsError.check(natsMsg_Create(&msg, subject, nil, nil, 0), "delete key '\(key)'")
            defer { natsMsg_Destroy(msg) }
            try NatsError.check(natsMsgHeader_Set(msg, "KV-Operation", "DEL"), "delete key '\(key)'")
            var options = jsPubOptions()
            jsPubOptions_Init(&options)
            options.ExpectLastSubjectSeq = revision
            try NatsError.check(
                js_PublishMsg(nil, js.pointer, msg, &options, nil),
                "delete key '\(key)' at revision \(revision) from bucket \(bucket)")
        }
    }

    /// `kvStore_Update` with an expected last revision (0 = the key must have none).
    static func write(_ kv: NatsHandle, key: String, value: Data, expecting last: UInt64, bucket: String) throws(NatsError) -> UInt64 {
        guard value.count <= Int(Int32.max) else {
            throw .invalidArgument("write key '\(key)'", "value of \(value.count) bytes is too large")
        }
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { bytes in
            kvStore_Update(&revision, kv.pointer, key, bytes.baseAddress, Int32(bytes.count), last)
        }
        let verb = last == 0 ? "create" : "update at revision \(last)"
        try NatsError.check(status, "\(verb) key '\(key)' in bucket \(bucket)")
        return revision
    }

    /// The revision of the key's delete or purge marker, or nil if its last message is a value
    /// (or it has none). Read from the stream leader with `js_GetLastMsg`, which, unlike
    /// `kvStore_Get`, returns markers too.
    static func deleteMarker(_ js: NatsHandle, stream: String, subject: String) throws(NatsError) -> UInt64? {
        var msg: OpaquePointer?
        let status = js_GetLastMsg(&msg, js.pointer, stream, subject, nil, nil)
        if status == NATS_NOT_FOUND { return nil }
        try NatsError.check(status, "read last message on \(subject)")
        defer { natsMsg_Destroy(msg) }
        var header: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(msg, "KV-Operation", &header) == NATS_OK, let header,
            NatsKVEntry.operation(header: String(cString: header)) != .put
        else { return nil }
        return natsMsg_GetSequence(msg)
    }
}
