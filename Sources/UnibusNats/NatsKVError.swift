internal import CNats

/// A JetStream or key-value operation failed, classified the way a caller has to react.
///
/// ```swift
/// do { _ = try await bucket.create("alice", value: data) }
/// catch .wrongLastSequence { /* someone else created it first */ }
/// catch .unavailable(let why) { /* no quorum: fail closed */ }
/// ```
public enum NatsKVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A create-only or revision-checked write lost to another writer.
    ///
    /// nats.c 3.4.1 reports this as the generic `NATS_ERR`; only its text says
    /// `wrong last sequence: N` (see ``NatsError/isWrongLastSequence``).
    case wrongLastSequence(bucket: String, key: String, detail: String)
    /// JetStream did not answer or could not confirm: `NATS_TIMEOUT`, `NATS_NO_RESPONDERS`
    /// (no stream leader), a cluster without quorum, or a closed or reconnecting connection.
    case unavailable(operation: String, detail: String)
    /// The server has no JetStream: nothing answers on `$JS.API`, or the account lacks it.
    case jetStreamDisabled(server: String, detail: String)
    /// The bucket's stream exists with a configuration unibus does not accept.
    case bucketConflict(bucket: String, stream: String, differences: [String])
    /// A key that is not a valid KV key (letters, digits, `-_/\=` and non-leading, non-trailing,
    /// non-doubled dots).
    case invalidKey(bucket: String, key: String)
    /// Any other failure, with nats.c's status and text.
    case failed(NatsError)

    public var description: String {
        switch self {
        case .wrongLastSequence(let bucket, let key, let detail):
            "key '\(key)' in bucket \(bucket) was changed by another writer (\(detail))"
        case .unavailable(let operation, let detail):
            "\(operation): no quorum or JetStream not answering (\(detail))"
        case .jetStreamDisabled(let server, let detail):
            "JetStream is not enabled on nats-server at \(server) (\(detail)); "
                + "enable it with a `jetstream { store_dir: … }` block (membershipd serve does this)"
        case .bucketConflict(let bucket, let stream, let differences):
            "bucket \(bucket) (stream \(stream)) exists with a conflicting configuration: "
                + differences.joined(separator: "; ")
                + "; refusing to use it: fix the flags (e.g. --kv-replicas) or edit the stream (`nats stream edit \(stream)`)"
        case .invalidKey(let bucket, let key):
            "'\(key)' is not a valid key for bucket \(bucket)"
        case .failed(let error):
            error.description
        }
    }
}

extension NatsKVError {
    /// Classifies a nats.c failure of a KV/JetStream call.
    static func classify(_ error: NatsError, bucket: String, key: String? = nil) -> NatsKVError {
        if error.isWrongLastSequence, let key {
            return .wrongLastSequence(bucket: bucket, key: key, detail: error.detail)
        }
        if isUnavailable(error) { return .unavailable(operation: error.operation, detail: error.detail) }
        return .failed(error)
    }

    /// Whether the failure means "could not confirm", which callers treat as no quorum.
    static func isUnavailable(_ error: NatsError) -> Bool {
        let status = natsStatus(rawValue: error.status)
        if status == NATS_TIMEOUT || status == NATS_NO_RESPONDERS || status == NATS_CONNECTION_CLOSED
            || status == NATS_CONNECTION_DISCONNECTED || status == NATS_NO_SERVER
        {
            return true
        }
        // JetStream API errors a cluster without a leader answers with (10008 "JetStream system
        // temporarily unavailable"; "cluster not available" in older texts).
        let text = error.detail.lowercased()
        return status == NATS_ERR
            && (text.contains("temporarily unavailable") || text.contains("not available")
                || text.contains("no suitable peers") || text.contains("insufficient resources"))
    }
}
