import AsyncHTTPClient
import Foundation
import NIOSSL
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor

/// A serve node with an admin and an HTTPS client signing as that admin.
struct APISession {
    let node: UnibusNode
    let http: HTTPClient
    let client: APIBench.Signed
    let admin: UserKeyPair

    static func open(_ cfg: BenchConfig, store: String) async throws -> APISession {
        let node = try UnibusNode(
            membershipd: cfg.membershipd, natsServer: cfg.natsServer, label: "engine-api-\(store)",
            extraArguments: store == "kv" ? ["--store", "kv"] : [])
        if store == "sqlite" { _ = try SQLiteAllowlistStore(path: node.db, create: true) }
        try await node.start()
        if store == "kv" {
            guard await node.child.waitForLine(containing: "KV allowlist open", timeout: .seconds(60)) != nil else {
                node.stop()
                throw BenchError("KV never opened:\n\(node.child.tail())")
            }
        }
        let admin = UserKeyPair()
        var add = ["user", "add", "--handle", "bench", "--sign-pub", admin.signPub.hex, "--role", "admin"]
        if store == "kv" {
            add += [
                "--store", "kv", "--nats-url", "nats://127.0.0.1:\(node.natsPort)", "--ca", "\(node.tlsDir)/ca.crt",
                "--internal-id-file", "\(node.localFiles)/internal.id",
            ]
        } else {
            add += ["--db", node.db]
        }
        do { try await node.cli(add) } catch {
            node.stop()
            throw error
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file("\(node.tlsDir)/ca.crt")
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        return APISession(node: node, http: http, client: .init(http: http, authority: "127.0.0.1:\(node.httpPort)", key: admin), admin: admin)
    }

    func close() async {
        try? await http.shutdown()
        node.stop()
    }

    /// `count` signed requests, `concurrency` in flight, request i built by `request`; every
    /// answer must have one of `expect`. `each` runs after request i answered.
    func load(
        count: Int, concurrency: Int, expect: Set<Int>, _ request: @escaping @Sendable (Int) -> (String, String, Data?),
        each: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws -> OpSample {
        let next = Counter()
        let client = client
        let start = nowNanos()
        let samples = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    while true {
                        let i = next.increment()
                        guard i <= count else { break }
                        let (method, path, body) = request(i)
                        let t0 = nowNanos()
                        let answer = try await client.send(method, path, body: body)
                        mine.append(Double(nowNanos() - t0) / 1e3)
                        guard expect.contains(answer.status) else { throw BenchError("\(method) \(path): \(answer.status) \(answer.text)") }
                        each(i)
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

    /// CPU seconds so far of membershipd, its nats-server and this process.
    func cpu() -> (Double, Double, Double) {
        (CPU.process(node.child.pid) ?? .nan, node.natsServerPID.flatMap(CPU.process) ?? .nan, CPU.own())
    }
}

/// Measures 3, 4, 5: user adds over HTTPS, signed KV writes that leave the ACL alone vs raw KV
/// create, signed reads on SQLite.
enum EngineAPI {
    static func run(_ cfg: BenchConfig) async throws -> String {
        let n = cfg.apiRequests, conc = cfg.apiConcurrency
        let adds = Int(EngineBench.environment["BENCH_ENGINE_ADDS"] ?? "") ?? 2_000
        let wrapped = Data(repeating: 7, count: 48).base64EncodedString()
        let keyBody = Data(#"{"epoch":1,"wrapped":"\#(wrapped)"}"#.utf8)
        var table = Table("measurement", "SQLite", "KV R1")

        func perRequest(_ a: (Double, Double, Double), _ b: (Double, Double, Double), _ count: Int) -> String {
            let d = Double(count)
            return "\(Format.fixed((b.0 - a.0) / d * 1e6, 0)) / \(Format.fixed((b.1 - a.1) / d * 1e6, 0)) / \(Format.fixed((b.2 - a.2) / d * 1e6, 0))"
        }
        func latency(_ s: OpSample) -> String { "\(Format.fixed(s.p50 / 1e3, 2)) / \(Format.fixed(s.p99 / 1e3, 2))" }

        struct Side {
            var read: OpSample
            var key: OpSample
            var member: OpSample
            var cpuRead = "", cpuKey = "", cpuMember = ""
            var raw: OpSample?
        }
        var sides: [String: Side] = [:]
        var addsResult: (sample: OpSample, passes: Int, reloads: [Double], bareMid: [Double], bareFinal: [Double], midUsers: Int, finalBytes: Int)?

        for store in ["sqlite", "kv"] {
            let session = try await APISession.open(cfg, store: store)
            do {
                let me = session.admin.signPub.hex
                let created = try await session.client.send("POST", "/v1/rooms", body: Data(#"{"id":"bench"}"#.utf8))
                guard created.status == 201 else { throw BenchError("POST /v1/rooms: \(created.status) \(created.text)") }
                let read: @Sendable (Int) -> (String, String, Data?) = { _ in ("GET", "/v1/me", nil) }
                let key: @Sendable (Int) -> (String, String, Data?) = { _ in ("PUT", "/v1/rooms/bench/keys/\(me)", keyBody) }
                let member: @Sendable (Int) -> (String, String, Data?) = { _ in
                    ("PUT", "/v1/rooms/bench/members/\(me)", Data(#"{"role":"owner"}"#.utf8))
                }
                Log.info("engine api \(store): warm-up")
                for r in [read, key, member] { _ = try await session.load(count: conc * 10, concurrency: conc, expect: [200], r) }
                Log.info("engine api \(store): \(n) reads, \(n) room-key writes, \(n) member re-puts, \(conc) in flight")
                let c0 = session.cpu()
                let r = try await session.load(count: n, concurrency: conc, expect: [200], read)
                let c1 = session.cpu()
                let k = try await session.load(count: n, concurrency: conc, expect: [200], key)
                let c2 = session.cpu()
                let m = try await session.load(count: n, concurrency: conc, expect: [200], member)
                let c3 = session.cpu()
                var side = Side(read: r, key: k, member: m)
                side.cpuRead = perRequest(c0, c1, n)
                side.cpuKey = perRequest(c1, c2, n)
                side.cpuMember = perRequest(c2, c3, n)
                if store == "kv" {
                    Log.info("engine api kv: raw nats.c kvStore_Create")
                    let idFile = "\(session.node.localFiles)/internal.id"
                    let seed = try String(contentsOfFile: idFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                    let nkey = try UserKeyPair(seed: NKey.decodeSeed(seed).seed).nkey
                    let url = session.node.url, tls = session.node.tlsDir
                    let value = Array(#"{"expires_at":"2026-11-27T00:00:00Z"}"#.utf8)
                    side.raw = try await timeRaw {
                        let kv = try RawKV(url: url, bucket: "UNIBUS_nonces", tls: .init(dir: tls, nkey: nkey, seedFile: idFile))
                        return try kv.create(count: n, prefix: "rawbench", value: value)
                    }
                } else {
                    addsResult = try await userAdds(session, cfg, count: adds)
                }
                sides[store] = side
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        }
        let s = sides["sqlite"]!, k = sides["kv"]!
        table.add("signed `GET /v1/me` req/s", Format.int(s.read.rate), Format.int(k.read.rate))
        table.add("… p50 / p99 ms", latency(s.read), latency(k.read))
        table.add("… CPU µs per request: membershipd / nats-server / bench", s.cpuRead, k.cpuRead)
        table.add("signed `PUT /v1/rooms/bench/keys/<self>` req/s (room key; ACL unchanged)", Format.int(s.key.rate), Format.int(k.key.rate))
        table.add("… p50 / p99 ms", latency(s.key), latency(k.key))
        table.add("… CPU µs per request: membershipd / nats-server / bench", s.cpuKey, k.cpuKey)
        table.add("signed `PUT /v1/rooms/bench/members/<self>` same role req/s (ACL unchanged)", Format.int(s.member.rate), Format.int(k.member.rate))
        table.add("… p50 / p99 ms", latency(s.member), latency(k.member))
        table.add("… CPU µs per request: membershipd / nats-server / bench", s.cpuMember, k.cpuMember)
        let raw = k.raw!
        table.add(
            "raw nats.c `kvStore_Create` op/s (sequential, same run)", "",
            "\(Format.int(raw.rate)) (p50 \(Format.fixed(raw.p50)) µs, p99 \(Format.fixed(raw.p99)) µs)")
        table.add("room-key writes / raw create", "", Format.ratio(k.key.rate / raw.rate))
        table.add("member re-puts / raw create", "", Format.ratio(k.member.rate / raw.rate))

        var addTable = Table("measurement", "value")
        if let a = addsResult {
            let bareMid = Stats.median(a.bareMid), bareFinal = Stats.median(a.bareFinal)
            addTable.add(
                "adds/s (\(Format.int(Double(adds))) signed `POST /v1/users`, \(conc) in flight, each answered once in force)",
                Format.int(a.sample.rate))
            addTable.add("p50 / p99 ms", latency(a.sample))
            addTable.add("wall", Format.fixed(a.sample.wall, 1) + " s")
            addTable.add(
                "engine passes with a reload during the run (adds per reload)",
                "\(a.passes) (\(Format.fixed(Double(adds) / Double(max(a.passes, 1)), 1)))")
            addTable.add(
                "engine write + reload per pass p50 / max", "\(Format.fixed(Stats.median(a.reloads))) / \(Format.fixed(a.reloads.max() ?? .nan)) ms")
            addTable.add("bare SIGHUP reload, config at \(Format.int(Double(a.midUsers))) users (mid-run) p50", Format.fixed(bareMid) + " ms")
            addTable.add(
                "bare SIGHUP reload, final config (\(Format.int(Double(adds + 1))) users, \(Format.bytes(a.finalBytes))) p50",
                Format.fixed(bareFinal) + " ms")
            addTable.add("goal 16 / bare reload (mid-run config)", Format.int(Double(conc) / (bareMid / 1e3)) + "/s")
            addTable.add("goal 16 / bare reload (final config)", Format.int(Double(conc) / (bareFinal / 1e3)) + "/s")
        }
        return """
            #### Signed API on SQLite and KV; user adds over HTTPS

            `membershipd serve` (enforce), once on SQLite and once with `--store kv`; one admin added with \
            `membershipd user add`, room `bench` created through the API. \(Format.int(Double(n))) requests per row after \
            \(conc * 10) warm-up requests of each kind, \(conc) in flight from one AsyncHTTPClient over HTTPS, each signed by \
            `RequestSigner` with a fresh nonce. Raw: nats.c `kvStore_Create` in a loop from one thread into serve's \
            `UNIBUS_nonces` over TLS with the internal identity, right after, in the same run. CPU per request from \
            `/proc/<pid>/task/*/schedstat`.

            \(table.markdown)
            User adds (SQLite node, starting from the admin alone): \(Format.int(Double(adds))) signed `POST /v1/users` \
            (fresh users, role member), \(conc) in flight; each answer (201) comes once the user is in force on the \
            node. Passes = `ACL reloaded` lines during the run. Bare reloads: standalone copies of the config \
            (taken when add \(Format.int(Double(adds / 2))) was answered, and at the end) SIGHUPed 5 times each by the same nats-server.

            \(addTable.markdown)
            """
    }

    static func userAdds(_ session: APISession, _ cfg: BenchConfig, count: Int) async throws -> (
        sample: OpSample, passes: Int, reloads: [Double], bareMid: [Double], bareFinal: [Double], midUsers: Int, finalBytes: Int
    ) {
        let users = (0..<count).map { _ in UserKeyPair().signPub.hex }
        let mid = Locked<(String, Int)?>(nil)
        let configFile = session.node.configFile
        let half = count / 2
        let mark = session.node.logMark
        Log.info("engine api: \(count) user adds over HTTPS")
        let sample = try await session.load(
            count: count, concurrency: cfg.apiConcurrency, expect: [201],
            { i in ("POST", "/v1/users", Data(#"{"sign_pub":"\#(users[i - 1])","handle":"a\#(i)","role":"member"}"#.utf8)) },
            each: { i in
                guard i == half else { return }
                let text = (try? String(contentsOfFile: configFile, encoding: .utf8)) ?? ""
                let names = text.components(separatedBy: "nkey:").count - 1
                mid.withLock { $0 = (text, names) }
            })
        let lines = session.node.child.lines(from: mark).compactMap(AclReloadLine.init)
        let executable = try await NatsServerExecutable.locate(cfg.natsServer)
        var bare: [[Double]] = []
        let final = try String(contentsOfFile: configFile, encoding: .utf8)
        let (midText, midUsers) = mid.withLock { $0 } ?? (final, count)
        for text in [midText, final] {
            let copy = try RawNatsNode(executable: executable, copying: text, label: "engine-adds-copy")
            try await copy.start()
            var times: [Double] = []
            for _ in 0..<5 { times.append(try await copy.reload().milliseconds) }
            copy.stop()
            bare.append(times)
        }
        return (sample, lines.count, lines.map { $0.reload * 1e3 }, bare[0], bare[1], midUsers, final.utf8.count)
    }
}

/// Measure 7: `user import --file` of many users into a running node, then revocations and RSS.
enum EngineImport {
    static func run(_ cfg: BenchConfig, users count: Int) async throws -> String {
        let node = try UnibusNode(membershipd: cfg.membershipd, natsServer: cfg.natsServer, label: "engine-import")
        defer { node.stop() }
        _ = try SQLiteAllowlistStore(path: node.db, create: true)
        try await node.start()
        Log.info("engine import: generating \(count) key pairs")
        let g0 = ContinuousClock.now
        let victims = 5
        let identities = (0..<victims).map { Identity(handle: String(format: "i%06d", $0), pair: UserKeyPair()) }
        var text = ""
        text.reserveCapacity(count * 110)
        for i in 0..<count {
            let hex = i < victims ? identities[i].pair.signPub.hex : UserKeyPair().signPub.hex
            text += #"{"handle":"\#(String(format: "i%06d", i))","sign_pub":"\#(hex)","role":"member"}"# + "\n"
        }
        let file = node.dir.appendingPathComponent("import.jsonl").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        Log.info("engine import: file written in \(Format.fixed((ContinuousClock.now - g0).seconds, 1)) s; running user import")
        let servePID = node.child.pid
        let i0 = ContinuousClock.now
        let r = try await runCommand(cfg.membershipd, ["user", "import", "--file", file, "--db", node.db])
        let importWall = (ContinuousClock.now - i0).seconds
        guard r.status == 0 else { throw BenchError("user import failed (\(r.status)): \(r.stderr)") }
        let output = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "; ")
        Log.info("engine import: \(Format.fixed(importWall, 1)) s: \(output)")
        let rssAfterImport = (ProcStat.kilobytes(servePID, "VmRSS") ?? .nan) / 1024
        let configBytes = (try? FileManager.default.attributesOfItem(atPath: node.configFile)[.size] as? Int) ?? 0

        let seeds = try makeTempDirectory("engine-import-seeds").path
        let target = Target(name: "unibus", url: node.url, tlsDir: node.tlsDir, nkeys: true, seedDir: seeds)
        let store = try SQLiteAllowlistStore(path: node.db, create: false)
        var latencies: [Double] = [], renders: [Double] = [], reloads: [Double] = []
        let importLine = node.child.lines(from: 0).compactMap(AclReloadLine.init).last
        var spacing = importLine.map { $0.render + $0.reload } ?? 2
        for victim in identities {
            let connection = try await NatsConnection.connect(try target.swiftOptions(victim))
            let events = EventClock(connection)
            try await connection.flush()
            try await Task.sleep(for: .milliseconds(Int(spacing * 1e3) + 50))
            let mark = node.logMark
            _ = try await store.revokeUser(victim.pair.signPub, at: Date())
            let t0 = ContinuousClock.now
            guard let closed = await events.waitForClose(timeout: .seconds(60)) else { throw BenchError("import victim never disconnected") }
            latencies.append((closed - t0).milliseconds)
            let line = try await node.waitForReload(after: mark, timeout: .seconds(60))
            renders.append(line.render * 1e3)
            reloads.append(line.reload * 1e3)
            spacing = line.render + line.reload
            Log.info("engine import: revoke → closed \(Format.fixed(latencies.last!)) ms")
        }
        let executable = try await NatsServerExecutable.locate(cfg.natsServer)
        let copy = try RawNatsNode(
            executable: executable, copying: try String(contentsOfFile: node.configFile, encoding: .utf8), label: "engine-import-copy")
        try await copy.start()
        var bare: [Double] = []
        for _ in 0..<3 { bare.append(try await copy.reload().milliseconds) }
        copy.stop()
        let natsPID = node.natsServerPID ?? 0
        var table = Table("measurement", "value")
        table.add(
            "`membershipd user import --file` of \(Format.int(Double(count))) users, wall (fork → exit, includes \"applied on 1/1\")",
            Format.fixed(importWall, 2) + " s")
        table.add("its output", output)
        table.add("config after import", Format.bytes(configBytes))
        table.add(
            "revoke → closed, \(victims) revocations: p50 / max",
            "\(Format.fixed(Stats.percentile(latencies, 50))) / \(Format.fixed(latencies.max() ?? .nan)) ms")
        table.add("… engine render p50 / write + reload p50", "\(Format.fixed(Stats.median(renders))) / \(Format.fixed(Stats.median(reloads))) ms")
        table.add("bare SIGHUP reload of a copy of the final config, p50 of 3", Format.fixed(Stats.median(bare)) + " ms")
        table.add(
            "membershipd RSS after import / after the revocations / peak (VmHWM)",
            "\(Format.fixed(rssAfterImport, 0)) / \(Format.fixed((ProcStat.kilobytes(servePID, "VmRSS") ?? .nan) / 1024, 0)) / \(Format.fixed((ProcStat.kilobytes(servePID, "VmHWM") ?? .nan) / 1024, 0)) MB"
        )
        table.add(
            "its nats-server RSS / peak",
            "\(Format.fixed((ProcStat.kilobytes(natsPID, "VmRSS") ?? .nan) / 1024, 0)) / \(Format.fixed((ProcStat.kilobytes(natsPID, "VmHWM") ?? .nan) / 1024, 0)) MB"
        )
        return """
            #### \(Format.int(Double(count))) users: `user import`, then revocations

            A fresh `membershipd serve` (enforce, SQLite, empty allowlist); a JSON lines file of \(Format.int(Double(count))) \
            users (no rooms) imported with the CLI while serve runs. Then \(victims) imported users connect one at a time \
            and are revoked through `SQLiteAllowlistStore.revokeUser`, each after the engine's pass spacing.

            \(table.markdown)
            """
    }
}

/// Measure 8: how long a new connection waits while the node reloads a 10,000-user ACL.
enum EngineStall {
    static func newerNatsServer() -> String? {
        let env = EngineBench.environment
        let candidates = [env["NATS_SERVER_NEW"], FileManager.default.currentDirectoryPath + "/.venv/bin/nats-server"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Result {
        let binary: String
        let version: String
        var idle: [Double] = []
        var during: [Double] = []
        var reloads: [Double] = []
        var failures = 0
        var errors: [String] = []
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        var binaries: [String] = []
        if let newer = newerNatsServer() { binaries.append(newer) } else { Log.info("engine stall: no newer nats-server (set NATS_SERVER_NEW)") }
        binaries.append(cfg.natsServer)
        var results: [Result] = []
        for binary in binaries { results.append(try await measure(cfg, binary: binary)) }
        var table = Table(
            "nats-server", "connects idle", "idle p50 / max", "connects overlapping a reload", "during reload p50 / max",
            "engine write + reload p50 / max", "failed connects")
        for r in results {
            table.add(
                "\(r.version) (`\(r.binary)`)", "\(r.idle.count)",
                "\(Format.fixed(Stats.percentile(r.idle, 50))) / \(Format.fixed(r.idle.max() ?? .nan)) ms",
                "\(r.during.count)", "\(Format.fixed(Stats.percentile(r.during, 50))) / \(Format.fixed(r.during.max() ?? .nan)) ms",
                "\(Format.fixed(Stats.median(r.reloads))) / \(Format.fixed(r.reloads.max() ?? .nan)) ms", "\(r.failures)")
        }
        return """
            #### New-connection stall during a 10,000-user reload

            `membershipd serve` (enforce, SQLite) with 10,000 users; a client connects (nkey + client certificate, TLS) \
            and closes in a loop, one connect every 10 ms. First 3 s with no change (idle), then 8 ACL changes (add a user), \
            one at a time, each waited for and followed by 1 s; a connect counts as *during a reload* when its \
            interval overlaps the time from the write to the engine's `ACL reloaded` line.

            \(table.markdown)
            \(results.flatMap { r in Set(r.errors).sorted().map { "- \(r.version): failed connect: \($0)" } }.joined(separator: "\n"))

            """
    }

    static func measure(_ cfg: BenchConfig, binary: String) async throws -> Result {
        let version = (try? await NatsServerExecutable.locate(binary).version.description) ?? "?"
        var result = Result(binary: binary, version: version)
        let size = 10_000
        let node = try UnibusNode(membershipd: cfg.membershipd, natsServer: binary, label: "engine-stall")
        defer { node.stop() }
        let fillers = (0..<size).map { Identity(handle: String(format: "u%06d", $0), pair: UserKeyPair()) }
        let rooms = stride(from: 0, to: size, by: 10).map { i in
            (id: String(format: "r%05d", i / 10), members: Array(fillers[i..<min(i + 10, size)]))
        }
        _ = try SQLiteAllowlistStore(path: node.db, create: true)
        try RevokeBench.insert(db: node.db, users: fillers, rooms: rooms)
        Log.info("engine stall \(version): starting serve with \(size) users")
        try await node.start(timeout: .seconds(300))
        let seeds = try makeTempDirectory("engine-stall-seeds").path
        let target = Target(name: "unibus", url: node.url, tlsDir: node.tlsDir, nkeys: true, seedDir: seeds)
        let options = try target.swiftOptions(fillers[1])

        let samples = Locked<[(start: ContinuousClock.Instant, end: ContinuousClock.Instant, ok: Bool)]>([])
        let errors = Locked<[String]>([])
        let stop = Locked(false)
        let loop = Task.detached {
            while !stop.withLock({ $0 }) {
                let t0 = ContinuousClock.now
                var ok = true
                do {
                    let c = try await NatsConnection.connect(options)
                    let t1 = ContinuousClock.now
                    samples.withLock { $0.append((t0, t1, true)) }
                    await c.close()
                } catch {
                    ok = false
                    let t1 = ContinuousClock.now
                    errors.withLock { $0.append("\(error)") }
                    samples.withLock { $0.append((t0, t1, ok)) }
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        try await Task.sleep(for: .seconds(3))
        let idleEnd = ContinuousClock.now
        var windows: [(ContinuousClock.Instant, ContinuousClock.Instant)] = []
        for i in 0..<8 {
            let user = Identity(handle: "stall\(i)", pair: UserKeyPair())
            let mark = node.logMark
            let w0 = ContinuousClock.now
            try RevokeBench.insert(db: node.db, users: [user])
            let line = try await node.waitForReload(after: mark, timeout: .seconds(60))
            windows.append((w0, ContinuousClock.now))
            result.reloads.append(line.reload * 1e3)
            try await Task.sleep(for: .seconds(1))
        }
        stop.withLock { $0 = true }
        await loop.value
        for s in samples.withLock({ $0 }) {
            let ms = (s.end - s.start).milliseconds
            if !s.ok { result.failures += 1; continue }
            if s.end <= idleEnd {
                result.idle.append(ms)
            } else if windows.contains(where: { s.start < $0.1 && s.end > $0.0 }) {
                result.during.append(ms)
            }
        }
        result.errors = errors.withLock { $0 }
        Log.info(
            "engine stall \(version): during reload max \(Format.fixed(result.during.max() ?? .nan)) ms, idle max \(Format.fixed(result.idle.max() ?? .nan)) ms"
        )
        return result
    }
}
