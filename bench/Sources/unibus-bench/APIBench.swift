import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import UnibusCore
import UnibusStoreSQLite

/// Signed HTTPS requests per second against the real `membershipd serve` (SQLite and KV).
enum APIBench {
    struct Column {
        let store: String
        var read: OpSample
        var write: OpSample
        var raw: OpSample
        var rawName: String
        /// CPU µs per request: membershipd, its nats-server, this bench process (client + signing).
        var readCPU: (serve: Double, nats: Double, client: Double)
        var writeCPU: (serve: Double, nats: Double, client: Double)
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        let loadBefore = loadAverage()
        var columns: [Column] = []
        for store in ["sqlite", "kv"] { columns.append(try await one(cfg, store: store)) }
        var table = Table("measurement", "SQLite", "KV R1")
        let s = columns[0], k = columns[1]
        table.add("signed `GET /v1/me` req/s", Format.int(s.read.rate), Format.int(k.read.rate))
        table.add(
            "… p50 / p99 ms", "\(Format.fixed(s.read.p50 / 1e3, 2)) / \(Format.fixed(s.read.p99 / 1e3, 2))",
            "\(Format.fixed(k.read.p50 / 1e3, 2)) / \(Format.fixed(k.read.p99 / 1e3, 2))")
        table.add("signed `PUT /v1/rooms/bench/members/<self>` req/s", Format.int(s.write.rate), Format.int(k.write.rate))
        table.add(
            "… p50 / p99 ms", "\(Format.fixed(s.write.p50 / 1e3, 2)) / \(Format.fixed(s.write.p99 / 1e3, 2))",
            "\(Format.fixed(k.write.p50 / 1e3, 2)) / \(Format.fixed(k.write.p99 / 1e3, 2))")
        func cpu(_ c: (serve: Double, nats: Double, client: Double)) -> String {
            "\(Format.fixed(c.serve, 0)) / \(Format.fixed(c.nats, 0)) / \(Format.fixed(c.client, 0))"
        }
        table.add("CPU µs per read: membershipd / nats-server / bench client", cpu(s.readCPU), cpu(k.readCPU))
        table.add("CPU µs per write: membershipd / nats-server / bench client", cpu(s.writeCPU), cpu(k.writeCPU))
        table.add("raw store op/s (sequential, same run)", "\(Format.int(s.raw.rate)) (\(s.rawName))", "\(Format.int(k.raw.rate)) (\(k.rawName))")
        table.add(
            "… raw p50 / p99 µs", "\(Format.fixed(s.raw.p50)) / \(Format.fixed(s.raw.p99))", "\(Format.fixed(k.raw.p50)) / \(Format.fixed(k.raw.p99))"
        )
        table.add("signed reads / raw op", Format.ratio(s.read.rate / s.raw.rate), Format.ratio(k.read.rate / k.raw.rate))
        table.add("signed writes / raw op", Format.ratio(s.write.rate / s.raw.rate), Format.ratio(k.write.rate / k.raw.rate))
        let readOK = s.read.rate >= 5_000
        let writeOK = k.write.rate >= 0.8 * k.raw.rate
        return """
            ### Signed API requests per second

            The real `membershipd serve` (release, enforce, its own nats-server child), once with the SQLite store and once
            with `--store kv`, over HTTPS with its development CA. One admin user (added with `membershipd user add`),
            room `bench` created through the API. Every request is signed by `RequestSigner` with a fresh nonce (signing
            is inside the timed section); \(cfg.apiConcurrency) requests in flight from one AsyncHTTPClient,
            \(Format.int(Double(cfg.apiRequests))) requests per measurement after \(cfg.apiConcurrency * 10) warm-up requests. The write puts the
            caller into `bench` with the role it already has (consumes a nonce, reads the user, the room and its
            members, writes the member, renders the ACL, which is unchanged, so no reload). Raw: SQLite
            `consumeNonce` on a temp file next to serve's; KV: nats.c `kvStore_Create` in a loop into serve's
            `UNIBUS_nonces` over TLS with the internal identity.
            Load average before/after: \(loadBefore) → \(loadAverage()).

            \(table.markdown)
            Targets: signed reads ≥ 5,000/s on SQLite — **\(readOK ? "met" : "missed")** (\(Format.int(s.read.rate))/s);
            signed writes ≥ 0.8 × raw create on KV — **\(writeOK ? "met" : "missed")** (\(Format.ratio(k.write.rate / k.raw.rate))).

            """
    }

    static func one(_ cfg: BenchConfig, store: String) async throws -> Column {
        let dir = try makeTempDirectory("api-\(store)")
        let localFiles = dir.appendingPathComponent("local_files")
        try FileManager.default.createDirectory(at: localFiles, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let natsPort = FreePort.next(), httpPort = FreePort.next()
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "UNIBUS_NATS_MONITOR")
        env.removeValue(forKey: "UNIBUS_NATS_DEBUG")
        env["LOG_LEVEL"] = "info"
        var args = [
            "serve", "--nats-port", "\(natsPort)", "--http-port", "\(httpPort)", "--cluster-port", "\(FreePort.next())",
            "--nats-server", cfg.natsServer,
        ]
        if store == "kv" { args += ["--store", "kv"] }
        let child = BenchProcess(
            name: "membershipd serve (\(store))", executable: cfg.membershipd, arguments: args,
            directory: dir, environment: env, logFile: dir.appendingPathComponent("membershipd.log").path)
        try await child.start()
        defer {
            let status = child.stop(signal: SIGTERM, grace: 15)
            if status != 0 { Log.info("membershipd serve exited with status \(status)") }
        }
        guard await child.waitForLine(containing: "membershipd ready", timeout: .seconds(120)) != nil else {
            throw BenchError("membershipd serve did not become ready:\n\(child.tail())")
        }
        let tls = localFiles.appendingPathComponent("tls").path
        let idFile = localFiles.appendingPathComponent("internal.id").path
        if store == "kv" {
            guard await child.waitForLine(containing: "KV allowlist open", timeout: .seconds(60)) != nil else {
                throw BenchError("KV never opened:\n\(child.tail())")
            }
        }
        let admin = UserKeyPair()
        var add = ["user", "add", "--handle", "bench", "--sign-pub", admin.signPub.hex, "--role", "admin"]
        if store == "kv" {
            add += ["--store", "kv", "--nats-url", "nats://127.0.0.1:\(natsPort)", "--ca", "\(tls)/ca.crt", "--internal-id-file", idFile]
        } else {
            add += ["--db", localFiles.appendingPathComponent("unibus.db").path]
        }
        let r = try await runCommand(cfg.membershipd, add)
        guard r.status == 0 else { throw BenchError("membershipd user add failed: \(r.stderr)") }

        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        tlsConfig.trustRoots = .file("\(tls)/ca.crt")
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tlsConfig))
        do {
            let client = Signed(http: http, authority: "127.0.0.1:\(httpPort)", key: admin)
            let created = try await client.send("POST", "/v1/rooms", body: Data(#"{"id":"bench"}"#.utf8))
            guard created.status == 201 else { throw BenchError("POST /v1/rooms: \(created.status) \(created.text)") }
            let writePath = "/v1/rooms/bench/members/\(admin.signPub.hex)"
            let writeBody = Data(#"{"role":"owner"}"#.utf8)
            let warm = cfg.apiConcurrency * 10
            Log.info("api \(store): warm-up")
            _ = try await load(client, count: warm, concurrency: cfg.apiConcurrency, method: "GET", path: "/v1/me", body: nil)
            _ = try await load(client, count: warm, concurrency: cfg.apiConcurrency, method: "PUT", path: writePath, body: writeBody)
            Log.info("api \(store): \(cfg.apiRequests) signed reads, \(cfg.apiConcurrency) in flight")
            let natsPID =
                (try? String(contentsOfFile: localFiles.appendingPathComponent("nats-server.pid").path, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            func cpuNow() -> (Double, Double, Double) { (CPU.process(child.pid) ?? .nan, CPU.process(natsPID) ?? .nan, CPU.own()) }
            func perRequest(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> (serve: Double, nats: Double, client: Double) {
                let n = Double(cfg.apiRequests)
                return ((b.0 - a.0) / n * 1e6, (b.1 - a.1) / n * 1e6, (b.2 - a.2) / n * 1e6)
            }
            let c0 = cpuNow()
            let read = try await load(client, count: cfg.apiRequests, concurrency: cfg.apiConcurrency, method: "GET", path: "/v1/me", body: nil)
            let c1 = cpuNow()
            Log.info("api \(store): \(cfg.apiRequests) signed writes")
            let write = try await load(
                client, count: cfg.apiRequests, concurrency: cfg.apiConcurrency, method: "PUT", path: writePath, body: writeBody)
            let c2 = cpuNow()
            try await http.shutdown()

            Log.info("api \(store): raw store operations")
            let raw: OpSample, rawName: String
            if store == "kv" {
                let seed = try String(contentsOfFile: idFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let pair = try UserKeyPair(seed: NKey.decodeSeed(seed).seed)
                let url = "tls://127.0.0.1:\(natsPort)", count = cfg.apiRequests
                let value = Array(#"{"expires_at":"2026-11-25T00:00:00Z"}"#.utf8)
                let nkey = pair.nkey
                raw = try await timeRaw {
                    let kv = try RawKV(url: url, bucket: "UNIBUS_nonces", tls: .init(dir: tls, nkey: nkey, seedFile: idFile))
                    return try kv.create(count: count, prefix: "rawbench", value: value)
                }
                rawName = "nats.c `kvStore_Create`"
            } else {
                let side = try SQLiteAllowlistStore(path: dir.appendingPathComponent("raw.db").path)
                let nonces = (0..<cfg.apiRequests).map { _ in RequestSigner.randomNonce() }
                let expires = Date().addingTimeInterval(300)
                raw = try await timeSequential(cfg.apiRequests) { i in
                    guard try await side.consumeNonce(nonces[i], expiresAt: expires, now: Date()) else { throw BenchError("nonce refused") }
                }
                rawName = "`consumeNonce`"
            }
            return Column(
                store: store, read: read, write: write, raw: raw, rawName: rawName,
                readCPU: perRequest(c0, c1), writeCPU: perRequest(c1, c2))
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// `count` signed requests, `concurrency` in flight; every response must be 200.
    static func load(_ client: Signed, count: Int, concurrency: Int, method: String, path: String, body: Data?) async throws -> OpSample {
        let next = Counter()
        let start = nowNanos()
        let samples = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    while next.increment() <= count {
                        let t0 = nowNanos()
                        let answer = try await client.send(method, path, body: body)
                        mine.append(Double(nowNanos() - t0) / 1e3)
                        guard answer.status == 200 else { throw BenchError("\(method) \(path): \(answer.status) \(answer.text)") }
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        return OpSample(latenciesMicros: samples, wall: Double(nowNanos() - start) / 1e9)
    }

    /// Signs each request as the server verifies it (RequestSigner, fresh nonce).
    struct Signed: Sendable {
        let http: HTTPClient
        let authority: String
        let key: UserKeyPair

        func send(_ method: String, _ path: String, body: Data?) async throws -> (status: Int, text: String) {
            let signed = SignedRequest(method: method, scheme: "https", authority: authority, path: path, query: nil, headers: [])
            let h = try RequestSigner.sign(signed, body: body, with: key, created: Date(), nonce: RequestSigner.randomNonce())
            var request = HTTPClientRequest(url: "https://\(authority)\(path)")
            request.method = .init(rawValue: method)
            request.headers.add(name: "Signature-Input", value: h.signatureInput)
            request.headers.add(name: "Signature", value: h.signature)
            if let d = h.contentDigest { request.headers.add(name: "Content-Digest", value: d) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let response = try await http.execute(request, timeout: .seconds(15))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return (Int(response.status.code), text)
        }
    }
}
