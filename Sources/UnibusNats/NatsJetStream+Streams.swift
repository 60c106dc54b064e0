internal import CNats

extension NatsJetStream {
    /// Creates the bucket's stream if it is missing; otherwise checks the existing one. An
    /// existing stream with fewer replicas than `config` and no other difference is raised in
    /// place (a node that ran alone joins a cluster: R1 → R3); the server refuses that until
    /// enough peers are routed (reported as unavailable, so the caller retries).
    ///
    /// We create the stream ourselves with `js_AddStream` rather than `js_CreateKeyValue`,
    /// because nats.c 3.4.1 always sets `allow_direct: true` (see ``NatsKVBucketConfig``).
    func ensureStream(_ config: NatsKVBucketConfig) async throws(NatsKVError) {
        let handle = handle
        let outcome = await Self.runKV { () throws(NatsError) -> [String] in
            // Look first: creating over an existing stream with another config fails with a
            // less useful "stream name already in use".
            if let existing = try Self.existingStream(handle, config) {
                guard existing.replicas < config.replicas, existing.differences.allSatisfy({ $0.hasPrefix("replicas is") }) else {
                    return existing.differences
                }
                try Self.raiseReplicas(handle, config)
                return []
            }
            let (status, code) = config.withStreamConfig { streamConfig -> (natsStatus, jsErrCode) in
                var info: UnsafeMutablePointer<jsStreamInfo>?
                var code = jsErrCode(rawValue: 0)
                let status = js_AddStream(&info, handle.pointer, &streamConfig, nil, &code)
                if let info { jsStreamInfo_Destroy(info) }
                return (status, code)
            }
            if status == NATS_OK { return [] }
            // Another node created it between our look and our create: check what it made.
            if code == JSStreamNameExistErr, let existing = try Self.existingStream(handle, config) {
                return existing.differences
            }
            throw NatsError(status: status, operation: "create stream \(config.stream) for bucket \(config.bucket)")
        }
        switch outcome {
        case .success(let differences) where differences.isEmpty: return
        case .success(let differences):
            throw .bucketConflict(bucket: config.bucket, stream: config.stream, differences: differences)
        case .failure(let error): throw NatsKVError.classify(error, bucket: config.bucket)
        }
    }

    /// Updates the stream to `config` (only its replicas differ): JetStream copies the data to the
    /// new peers and keeps serving meanwhile.
    private static func raiseReplicas(_ js: NatsHandle, _ config: NatsKVBucketConfig) throws(NatsError) {
        let (status, code) = config.withStreamConfig { streamConfig -> (natsStatus, jsErrCode) in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(rawValue: 0)
            let status = js_UpdateStream(&info, js.pointer, &streamConfig, nil, &code)
            if let info { jsStreamInfo_Destroy(info) }
            return (status, code)
        }
        guard status == NATS_OK else {
            throw NatsError(
                operation: "raise stream \(config.stream) of bucket \(config.bucket) to \(config.replicas) replicas",
                status: status.rawValue, detail: NatsError.lastErrorText(for: status) + " (JetStream error \(code.rawValue))")
        }
    }

    /// The existing stream's replicas and its differences from `config`, or nil if there is no stream.
    private static func existingStream(
        _ js: NatsHandle, _ config: NatsKVBucketConfig
    ) throws(NatsError) -> (replicas: Int, differences: [String])? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(rawValue: 0)
        let status = js_GetStreamInfo(&info, js.pointer, config.stream, nil, &code)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        if status == NATS_NOT_FOUND || code == JSStreamNotFoundErr { return nil }
        try NatsError.check(status, "read stream \(config.stream) of bucket \(config.bucket)")
        guard let existing = info?.pointee.Config?.pointee else {
            throw NatsError(operation: "read stream \(config.stream)", status: NATS_ERR.rawValue, detail: "no configuration in the reply")
        }
        return (Int(existing.Replicas), config.differences(from: existing))
    }

    /// Whether the bucket's stream exists (operator commands bind buckets; only `serve` creates them).
    public func bucketExists(_ bucket: String) async throws(NatsKVError) -> Bool {
        let handle = handle
        let stream = "KV_\(bucket)"
        let outcome = await Self.runKV { () throws(NatsError) -> Bool in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(rawValue: 0)
            let status = js_GetStreamInfo(&info, handle.pointer, stream, nil, &code)
            defer { if let info { jsStreamInfo_Destroy(info) } }
            if status == NATS_NOT_FOUND || code == JSStreamNotFoundErr { return false }
            try NatsError.check(status, "read stream \(stream)")
            return true
        }
        switch outcome {
        case .success(let exists): return exists
        case .failure(let error): throw NatsKVError.classify(error, bucket: bucket)
        }
    }

    /// The stream behind `bucket` as its leader reports it: configuration, replicas, leader and
    /// how current each follower is (for `cluster status` and post-write reports).
    public func bucketStatus(_ bucket: String) async throws(NatsKVError) -> NatsKVBucketStatus {
        let handle = handle
        let stream = "KV_\(bucket)"
        let outcome = await Self.runKV { () throws(NatsError) -> NatsKVBucketStatus in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            try NatsError.check(js_GetStreamInfo(&info, handle.pointer, stream, nil, nil), "read stream \(stream)")
            defer { jsStreamInfo_Destroy(info) }
            return NatsKVBucketStatus(bucket: bucket, info: info!.pointee)
        }
        switch outcome {
        case .success(let status): return status
        case .failure(let error): throw NatsKVError.classify(error, bucket: bucket)
        }
    }

    /// The stream's last sequence as its leader reports it (`$JS.API.STREAM.INFO` is answered
    /// by the stream leader only), used to prove that a listing is not stale.
    func lastSequence(stream: String) throws(NatsError) -> UInt64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        try NatsError.check(js_GetStreamInfo(&info, handle.pointer, stream, nil, nil), "read stream \(stream)")
        defer { jsStreamInfo_Destroy(info) }
        return info!.pointee.State.LastSeq
    }
}

/// A bucket's stream as reported by its leader.
public struct NatsKVBucketStatus: Sendable, Hashable {
    /// One replica other than the leader.
    public struct Follower: Sendable, Hashable {
        public var name: String
        /// Whether it has applied everything the leader has.
        public var current: Bool
        public var offline: Bool
        /// Operations it is behind by.
        public var lag: UInt64
    }

    public var bucket: String
    public var replicas: Int
    public var allowDirect: Bool
    /// `max_age`; nil when values live forever.
    public var maxAge: Duration?
    /// Values kept per key (`max_msgs_per_subject`).
    public var history: Int
    /// Stored messages (values, delete markers).
    public var messages: UInt64
    public var lastSequence: UInt64
    /// The leader's server name; nil on a single server without clustering.
    public var leader: String?
    public var followers: [Follower]

    init(bucket: String, info: jsStreamInfo) {
        self.bucket = bucket
        replicas = Int(info.Config?.pointee.Replicas ?? 1)
        allowDirect = info.Config?.pointee.AllowDirect ?? false
        let age = info.Config?.pointee.MaxAge ?? 0
        maxAge = age > 0 ? .nanoseconds(age) : nil
        history = Int(info.Config?.pointee.MaxMsgsPerSubject ?? 0)
        messages = info.State.Msgs
        lastSequence = info.State.LastSeq
        leader = info.Cluster?.pointee.Leader.map { String(cString: $0) }
        followers = []
        if let cluster = info.Cluster?.pointee, let replicas = cluster.Replicas {
            for index in 0..<Int(cluster.ReplicasLen) {
                guard let peer = replicas[index]?.pointee else { continue }
                followers.append(
                    Follower(
                        name: peer.Name.map { String(cString: $0) } ?? "?", current: peer.Current,
                        offline: peer.Offline, lag: peer.Lag))
            }
        }
    }
}
