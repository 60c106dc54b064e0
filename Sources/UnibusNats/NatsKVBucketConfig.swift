internal import CNats

/// The stream behind a KV bucket, as unibus creates it: what nats.c's `js_CreateKeyValue`
/// would create, except that **direct get is off**.
///
/// nats-server 2.9.10 (Debian 12) answers direct gets from any replica, including a lagging
/// one (fixed upstream in 2.9.17), and nats.c uses direct get whenever the stream allows it.
/// With `allow_direct: false`, `kvStore_Get` goes through `$JS.API.STREAM.MSG.GET`, which only
/// the stream leader answers.
public struct NatsKVBucketConfig: Sendable, Hashable {
    /// The bucket name (`[A-Za-z0-9_-]+`).
    public var bucket: String
    /// Stream replicas: 1 on one node, 3 in a cluster.
    public var replicas: Int
    /// How long a value lives (`max_age`); nil keeps values forever.
    public var maxAge: Duration?
    /// Values kept per key (`max_msgs_per_subject`); unibus uses 1.
    public var history: Int

    public init(bucket: String, replicas: Int = 1, maxAge: Duration? = nil, history: Int = 1) {
        self.bucket = bucket
        self.replicas = replicas
        self.maxAge = maxAge
        self.history = history
    }

    /// `KV_<bucket>`.
    public var stream: String { "KV_\(bucket)" }
    /// `$KV.<bucket>.>`.
    public var subjects: String { "$KV.\(bucket).>" }
    /// `max_age` in nanoseconds, as JetStream counts it (0 = forever).
    var maxAgeNanoseconds: Int64 {
        guard let maxAge else { return 0 }
        let (seconds, attoseconds) = maxAge.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Calls `body` with a `jsStreamConfig` for this bucket; its strings live only during the call.
    func withStreamConfig<T>(_ body: (inout jsStreamConfig) -> T) -> T {
        stream.withCString { name in
            subjects.withCString { subject in
                var subjectList: [UnsafePointer<CChar>?] = [subject]
                return subjectList.withUnsafeMutableBufferPointer { list in
                    var config = jsStreamConfig()
                    jsStreamConfig_Init(&config)  // file storage, no byte/msg limits, replicas 1
                    config.Name = name
                    config.Subjects = list.baseAddress
                    config.SubjectsLen = 1
                    config.MaxMsgsPerSubject = Int64(history)
                    config.MaxAge = maxAgeNanoseconds
                    config.Replicas = Int64(replicas)
                    config.Storage = js_FileStorage
                    config.Discard = js_DiscardNew
                    config.DenyDelete = true
                    config.AllowRollup = true
                    config.AllowDirect = false  // see the type's documentation
                    return body(&config)
                }
            }
        }
    }

    /// What differs between an existing stream's configuration and this one, in words an
    /// operator can act on; empty when the stream is usable as it is.
    func differences(from existing: jsStreamConfig) -> [String] {
        var out: [String] = []
        func note(_ field: String, _ actual: some CustomStringConvertible, _ expected: some CustomStringConvertible) {
            out.append("\(field) is \(actual), expected \(expected)")
        }
        let actualSubjects = (0..<Int(existing.SubjectsLen)).compactMap { index in
            existing.Subjects?[index].map { String(cString: $0) }
        }
        if actualSubjects != [subjects] { note("subjects", actualSubjects, [subjects]) }
        if existing.Replicas != Int64(replicas) { note("replicas", existing.Replicas, replicas) }
        if existing.MaxAge != maxAgeNanoseconds {
            note("max_age", Self.describeAge(existing.MaxAge), Self.describeAge(maxAgeNanoseconds))
        }
        if existing.MaxMsgsPerSubject != Int64(history) {
            note("max_msgs_per_subject (history)", existing.MaxMsgsPerSubject, history)
        }
        if existing.AllowDirect {
            out.append("allow_direct is true, expected false (nats-server 2.9.10 may serve stale direct gets from a lagging replica)")
        }
        if existing.Storage != js_FileStorage { out.append("storage is memory, expected file") }
        if existing.Discard != js_DiscardNew { out.append("discard is old, expected new") }
        if !existing.DenyDelete { note("deny_delete", false, true) }
        if !existing.AllowRollup { note("allow_rollup_hdrs", false, true) }
        return out
    }

    static func describeAge(_ nanoseconds: Int64) -> String {
        nanoseconds == 0 ? "unlimited" : "\(Double(nanoseconds) / 1e9) s"
    }
}
