internal import CNats
import Foundation

extension NatsKeyValue {
    /// Every current value in the bucket (delete markers left out), sorted by key.
    ///
    /// Read with `kvStore_WatchAll` (an ordered consumer: the current values, a NULL marker,
    /// then live changes). nats-server 2.9.10 places that ephemeral consumer on any replica,
    /// possibly a lagging one, so the listing first asks the stream *leader* for the stream's
    /// last sequence and keeps reading past the marker until it has seen that sequence: the
    /// message at the last sequence is always the newest of its key, so it is delivered by a
    /// replica that has caught up. A bucket with a max age skips that proof (its last message
    /// may expire meanwhile).
    /// - Throws: ``NatsKVError/unavailable(operation:detail:)`` if the replica does not catch
    ///   up within the context's `wait`.
    public func entries() async throws(NatsKVError) -> [NatsKVEntry] {
        let jetStream = jetStream
        let needsProof = maxAge == nil
        switch await NatsJetStream.runKV({ [handle, bucket] () throws(NatsError) -> [NatsKVEntry] in
            let required = needsProof ? try jetStream.lastSequence(stream: "KV_\(bucket)") : 0
            return try Self.collect(handle, bucket: bucket, through: required, jetStream: jetStream)
        }) {
        case .success(let entries): return entries
        case .failure(let error): throw NatsKVError.classify(error, bucket: bucket)
        }
    }

    private static func collect(
        _ kv: NatsHandle, bucket: String, through required: UInt64, jetStream: NatsJetStream
    ) throws(NatsError) -> [NatsKVEntry] {
        let operation = "list bucket \(bucket)"
        var options = kvWatchOptions()
        kvWatchOptions_Init(&options)  // deletes included: their sequences count for the proof
        var created: OpaquePointer?
        try NatsError.check(kvStore_WatchAll(&created, kv.pointer, &options), "\(operation): start a watcher")
        let watcher = created!
        defer { stopWatcher(watcher, connection: jetStream.connection) }

        var values: [String: NatsKVEntry] = [:]
        var seen: UInt64 = 0
        var caughtUp = false
        let deadline = ContinuousClock.now + jetStream.wait
        while !(caughtUp && seen >= required) {
            let remaining = (deadline - ContinuousClock.now).natsMilliseconds
            guard remaining > 0 else {
                throw NatsError(
                    operation: operation, status: NATS_TIMEOUT.rawValue,
                    detail: "the replica serving the listing is behind the leader (saw sequence \(seen) of \(required))")
            }
            var next: OpaquePointer?
            let status = kvWatcher_Next(&next, watcher, remaining)
            if status == NATS_TIMEOUT {
                throw NatsError(
                    operation: operation, status: status.rawValue,
                    detail: "no answer from the replica serving the listing within \(jetStream.wait) "
                        + "(saw sequence \(seen) of \(required), initial values \(caughtUp ? "done" : "pending"))")
            }
            try NatsError.check(status, operation)
            guard let next else { caughtUp = true; continue }  // end of the initial values
            defer { kvEntry_Destroy(next) }
            let entry = NatsKVEntry(copying: next)
            seen = max(seen, entry.revision)
            values[entry.key] = entry.operation == .put ? entry : nil
        }
        return values.values.sorted { $0.key < $1.key }
    }

    /// Stops and destroys a watcher.
    ///
    /// nats.c 3.4.1's read loop looks a subscription up, releases the lock, then uses it: a
    /// message being processed while another thread destroys the subscription is a
    /// use-after-free (fixed upstream in 3.6.1, commit 0a7dd28b). So: unsubscribe (Stop),
    /// flush (the server's PONG comes after any message already on the wire, and the read
    /// loop handles them in order), and only then destroy.
    static func stopWatcher(_ watcher: OpaquePointer, connection: NatsConnection) {
        _ = kvWatcher_Stop(watcher)
        _ = natsConnection_FlushTimeout(connection.handle.pointer, 2_000)
        kvWatcher_Destroy(watcher)
    }
}
