import CNats
import Foundation

/// nats.c called directly from one thread: `js_KeyValue` binds an existing bucket, then tight
/// `kvStore_Create` / `kvStore_Get` loops. The baseline for the unibus KV store and API.
final class RawKV {
    private var conn: OpaquePointer?
    private var js: OpaquePointer?
    private var kv: OpaquePointer?

    struct TLS { let dir: String; let nkey: String; let seedFile: String }

    private static func check(_ status: natsStatus, _ what: String) throws {
        guard status == NATS_OK else {
            let text = String(cString: natsStatus_GetText(status))
            let last = nats_GetLastError(nil).map { String(cString: $0) } ?? ""
            throw BenchError("nats.c \(what): \(text) \(last)")
        }
    }

    init(url: String, bucket: String, tls: TLS? = nil) throws {
        var opts: OpaquePointer?
        try Self.check(natsOptions_Create(&opts), "natsOptions_Create")
        defer { natsOptions_Destroy(opts) }
        try Self.check(natsOptions_SetURL(opts, url), "set URL")
        try Self.check(natsOptions_SetName(opts, "unibus-bench-raw-kv"), "set name")
        try Self.check(natsOptions_SetTimeout(opts, 5_000), "set timeout")
        try Self.check(natsOptions_SetAllowReconnect(opts, false), "no reconnect")
        try Self.check(natsOptions_SetSendAsap(opts, true), "send asap")
        if let tls {
            try Self.check(natsOptions_SetSecure(opts, true), "TLS")
            try Self.check(natsOptions_LoadCATrustedCertificates(opts, "\(tls.dir)/ca.crt"), "CA")
            try Self.check(natsOptions_LoadCertificatesChain(opts, "\(tls.dir)/client.crt", "\(tls.dir)/client.key"), "client cert")
            try Self.check(natsOptions_SetNKeyFromSeed(opts, tls.nkey, tls.seedFile), "nkey")
        }
        var status = natsConnection_Connect(&conn, opts)
        // nats.c 3.4.1 drops nkey signatures starting with a 0 byte (1 in 256): retry once or twice.
        var tries = 0
        while status != NATS_OK && tries < 3 { tries += 1; status = natsConnection_Connect(&conn, opts) }
        try Self.check(status, "connect \(url)")
        var jsOpts = jsOptions()
        jsOptions_Init(&jsOpts)
        jsOpts.Wait = 5_000
        try Self.check(natsConnection_JetStream(&js, conn, &jsOpts), "JetStream context")
        try Self.check(js_KeyValue(&kv, js, bucket), "js_KeyValue \(bucket)")
    }

    /// `count` kvStore_Create of fresh keys `<prefix><i>`; latencies in µs.
    func create(count: Int, prefix: String, value: [UInt8]) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        var rev: UInt64 = 0
        for i in 0..<count {
            let key = "\(prefix)\(i)"
            let t0 = nowNanos()
            let s = value.withUnsafeBytes { kvStore_Create(&rev, kv, key, $0.baseAddress, Int32($0.count)) }
            samples.append(Double(nowNanos() - t0) / 1e3)
            try Self.check(s, "kvStore_Create \(key)")
        }
        return samples
    }

    /// `count` kvStore_Get of one existing key; latencies in µs.
    func get(count: Int, key: String) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            var entry: OpaquePointer?
            let t0 = nowNanos()
            let s = kvStore_Get(&entry, kv, key)
            if s == NATS_OK { kvEntry_Destroy(entry) }
            samples.append(Double(nowNanos() - t0) / 1e3)
            try Self.check(s, "kvStore_Get \(key)")
        }
        return samples
    }

    deinit {
        if kv != nil { kvStore_Destroy(kv) }
        if js != nil { jsCtx_Destroy(js) }
        if conn != nil { natsConnection_Destroy(conn) }
    }
}

/// Ops/s and latency of a sequential run.
struct OpSample {
    let latenciesMicros: [Double]
    let wall: Double
    var rate: Double { Double(latenciesMicros.count) / wall }
    var p50: Double { Stats.percentile(latenciesMicros, 50) }
    var p99: Double { Stats.percentile(latenciesMicros, 99) }
}

/// Times `count` sequential async operations.
func timeSequential(_ count: Int, _ op: (Int) async throws -> Void) async throws -> OpSample {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    let start = nowNanos()
    for i in 0..<count {
        let t0 = nowNanos()
        try await op(i)
        samples.append(Double(nowNanos() - t0) / 1e3)
    }
    return OpSample(latenciesMicros: samples, wall: Double(nowNanos() - start) / 1e9)
}

/// Times a blocking nats.c loop on its own thread.
func timeRaw(_ body: @escaping @Sendable () throws -> [Double]) async throws -> OpSample {
    try await onThread {
        let start = nowNanos()
        let samples = try body()
        return OpSample(latenciesMicros: samples, wall: Double(nowNanos() - start) / 1e9)
    }
}
extension OpSample: @unchecked Sendable {}

/// A plain nats-server with JetStream on loopback, no TLS, no auth (the store benchmark's KV R1).
final class PlainJetStreamNode: @unchecked Sendable {
    let dir: URL
    let port = FreePort.next()
    let child: BenchProcess
    var url: String { "nats://127.0.0.1:\(port)" }

    init(executable: String, label: String) throws {
        dir = try makeTempDirectory(label)
        let conf = dir.appendingPathComponent("nats-server.conf").path
        let text = """
            listen: "127.0.0.1:\(port)"
            server_name: "bench-js"
            jetstream { store_dir: "\(dir.appendingPathComponent("jetstream").path)" }
            """
        guard FileManager.default.createFile(atPath: conf, contents: Data(text.utf8)) else { throw BenchError("cannot write \(conf)") }
        child = BenchProcess(
            name: "nats-server (\(label))", executable: executable, arguments: ["-c", conf],
            logFile: dir.appendingPathComponent("nats-server.log").path)
    }

    func start() async throws {
        try await child.start()
        guard await child.waitForLine(containing: "Server is ready", timeout: .seconds(60)) != nil else {
            throw BenchError("nats-server did not become ready:\n\(child.tail())")
        }
    }

    func stop() { child.stop(signal: SIGINT, grace: 10) }
}
