import Foundation
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor

/// `engine`: the issue-10 table (the incremental ACL engine), side by side in one run.
///
/// Parts (environment `BENCH_ENGINE_PARTS`, comma-separated; default all):
/// - `revoke`: per size (`BENCH_ENGINE_SIZES`, default 1000,10000,50000) revoke → closed, with a
///   bare SIGHUP reload of the same config by the same nats-server binary interleaved round by
///   round; at sizes ≤ 10,000 also `membershipd user add` → first connect (20 tries, no retry)
///   and membershipd's CPU per ACL change (`/proc/<pid>/stat` utime + stime).
/// - `api`: signed reads on SQLite, signed room-key writes on KV vs raw `kvStore_Create`, and
///   2,000 user adds over HTTPS (`BENCH_ENGINE_ADDS`).
/// - `import`: `user import --file` of `BENCH_IMPORT_USERS` (default 100,000) users, then
///   revocations and RSS.
/// - `stall`: new-connection latency while a 10,000-user reload happens, on the newer
///   nats-server (`NATS_SERVER_NEW`, else `./.venv/bin/nats-server`) and on `--nats-server`.
enum EngineBench {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var parts: Set<String> {
        Set((environment["BENCH_ENGINE_PARTS"] ?? "revoke,api,import,stall").split(separator: ",").map(String.init))
    }

    static func intList(_ key: String, _ fallback: [Int]) -> [Int] {
        guard let text = environment[key] else { return fallback }
        return text.split(separator: ",").compactMap { Int($0.replacingOccurrences(of: "_", with: "")) }
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        var out = "### Issue 10: the ACL engine\n\nLoad average at start: \(loadAverage()).\n\n"
        let parts = Self.parts
        if parts.contains("revoke") {
            var results: [EngineRevoke.Result] = []
            for size in intList("BENCH_ENGINE_SIZES", [1_000, 10_000, 50_000]) {
                results.append(try await EngineRevoke.measure(size: size, cfg))
                Log.info("engine: load \(loadAverage())")
            }
            out += EngineRevoke.report(cfg, results)
            out += "\nLoad average after: \(loadAverage()).\n\n"
        }
        if parts.contains("api") {
            out += try await EngineAPI.run(cfg) + "\nLoad average after: \(loadAverage()).\n\n"
        }
        if parts.contains("import") {
            out += try await EngineImport.run(cfg, users: intList("BENCH_IMPORT_USERS", [100_000]).first ?? 100_000)
            out += "\nLoad average after: \(loadAverage()).\n\n"
        }
        if parts.contains("stall") {
            out += try await EngineStall.run(cfg) + "\nLoad average after: \(loadAverage()).\n\n"
        }
        return out
    }
}

/// A value behind a lock, shareable with escaping closures (unlike `Mutex`, which is not copyable).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// CPU and memory of another process from `/proc`.
enum ProcStat {
    /// utime + stime of `/proc/<pid>/stat` in seconds (clock ticks, usually 10 ms).
    static func cpu(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After "(comm)": state is field 3, so utime/stime (14/15) are at offsets 11/12.
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `/proc/<pid>/status` line in kB (VmRSS, VmHWM).
    static func kilobytes(_ pid: Int32, _ key: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Double(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }
}

/// Measures 1, 2 and 6: revoke → closed vs a bare reload, CLI add → connect, CPU per change.
enum EngineRevoke {
    struct Result {
        let size: Int
        var configBytes = 0
        var revoke: [Double] = []  // ms, write returned → closed
        var bare: [Double] = []  // ms, SIGHUP → "Reloaded" on a copy, interleaved
        var engineRender: [Double] = []  // ms, from the engine's log line
        var engineReload: [Double] = []
        var failures = 0
        var cliWall: [Double] = []  // ms, fork → exit of `membershipd user add`
        var cliApplied: [Double] = []  // ms, the CLI's own "applied on 1/1 nodes in X ms"
        var cliConnectOK = 0
        var cliTries = 0
        var cliErrors: [String] = []
        var cpuChanges = 0
        var cpuPerChange = Double.nan  // ms of membershipd utime+stime per change, idle subtracted
        var cpuIdlePerChange = Double.nan  // the idle share subtracted (ms over the same wall time)
        var natsCPUPerChange = Double.nan
        var rssMB = Double.nan
        var bystanderKept = true
    }

    static func measure(size: Int, _ cfg: BenchConfig) async throws -> Result {
        var result = Result(size: size)
        let executable = try await NatsServerExecutable.locate(cfg.natsServer)
        let node = try UnibusNode(membershipd: cfg.membershipd, natsServer: cfg.natsServer, label: "engine-\(size)")
        defer { node.stop() }
        let fillers = (0..<(size - 1)).map { Identity(handle: String(format: "u%06d", $0), pair: UserKeyPair()) }
        let rooms = stride(from: 0, to: fillers.count, by: 10).map { i in
            (id: String(format: "r%05d", i / 10), members: Array(fillers[i..<min(i + 10, fillers.count)]))
        }
        _ = try SQLiteAllowlistStore(path: node.db, create: true)
        try RevokeBench.insert(db: node.db, users: fillers, rooms: rooms.map { ($0.id, $0.members) })
        Log.info("engine revoke \(size): \(fillers.count) users inserted; starting serve")
        try await node.start(timeout: .seconds(300))

        let seeds = try makeTempDirectory("engine-seeds-\(size)").path
        let target = Target(name: "unibus", url: node.url, tlsDir: node.tlsDir, nkeys: true, seedDir: seeds)
        let room = rooms[0].id
        let bystander = try await NatsConnection.connect(try target.swiftOptions(fillers[0]))
        let bystanderEvents = EventClock(bystander)
        try await bystander.flush()
        let store = try SQLiteAllowlistStore(path: node.db, create: false)
        guard let natsPID = node.natsServerPID else { throw BenchError("no nats-server pid file") }
        let servePID = node.child.pid

        // Every victim is added first, so the revocation happens with exactly `size` active users;
        // the bare reload runs a copy of the config with that victim in it (same users, same size).
        var copy: RawNatsNode?
        defer { copy?.stop() }
        for i in 0..<cfg.victims {
            let victim = Identity(handle: "victim\(i)", pair: UserKeyPair())
            var mark = node.logMark
            try RevokeBench.insert(db: node.db, users: [victim], memberships: [(room, victim)])
            let added = try await node.waitForReload(after: mark, containing: [victim.pair.nkey], timeout: .seconds(60))
            if copy == nil {
                let text = try String(contentsOfFile: node.configFile, encoding: .utf8)
                result.configBytes = text.utf8.count
                let raw = try RawNatsNode(executable: executable, copying: text, label: "engine-copy-\(size)")
                try await raw.start()
                copy = raw
            }
            let connection = try await NatsConnection.connect(try target.swiftOptions(victim))
            let events = EventClock(connection)
            let subscription = try await connection.subscribe("unibus.room.\(room).>")
            try await connection.flush()
            // The engine spaces back-to-back passes by the last one's cost (group commit): let
            // that window pass, so this measures a revocation arriving at an idle node.
            try await Task.sleep(for: .milliseconds(Int((added.render + added.reload) * 1e3) + 30))
            if let copy { result.bare.append(try await copy.reload().milliseconds) }
            // Let the copy's reload (and its GC) finish using the CPUs.
            try await Task.sleep(for: .milliseconds(Int(Stats.median(result.bare)) + 50))
            mark = node.logMark
            _ = try await store.revokeUser(victim.pair.signPub, at: Date())
            let t0 = ContinuousClock.now
            guard let closedAt = await events.waitForClose(timeout: .seconds(30)) else {
                result.failures += 1
                Log.info("engine revoke \(size): victim \(i) not disconnected within 30 s")
                continue
            }
            result.revoke.append((closedAt - t0).milliseconds)
            let line = try await node.waitForReload(after: mark, timeout: .seconds(60))
            result.engineRender.append(line.render * 1e3)
            result.engineReload.append(line.reload * 1e3)
            try? await subscription.drain(timeout: .seconds(1))
            withExtendedLifetime(connection) {}
            try await Task.sleep(for: .milliseconds(Int((line.render + line.reload) * 1e3) + 30))
        }
        copy?.stop()
        copy = nil
        Log.info("engine revoke \(size): revoke samples (ms) \(result.revoke.map { Format.fixed($0) }.joined(separator: " "))")
        Log.info("engine revoke \(size): bare samples (ms) \(result.bare.map { Format.fixed($0) }.joined(separator: " "))")
        Log.info(
            "engine revoke \(size): engine render+reload (ms) \(zip(result.engineRender, result.engineReload).map { Format.fixed($0 + $1) }.joined(separator: " "))"
        )
        Log.info(
            "engine revoke \(size): revoke p50 \(Format.fixed(Stats.percentile(result.revoke, 50))) ms, bare reload p50 \(Format.fixed(Stats.percentile(result.bare, 50))) ms"
        )

        // BENCH_REVOKE_ONLY=1: only the revocations (e.g. many victims for a steadier p99).
        if size <= 10_000 && EngineBench.environment["BENCH_REVOKE_ONLY"] != "1" {
            // 2: `membershipd user add` (the CLI) → first connect of that user, no retry.
            let tries = Int(EngineBench.environment["BENCH_CLI_TRIES"] ?? "") ?? 20
            for i in 0..<tries {
                let user = Identity(handle: "cli\(i)", pair: UserKeyPair())
                let args = ["user", "add", "--handle", user.handle, "--sign-pub", user.pair.signPub.hex, "--role", "member", "--db", node.db]
                let c0 = ContinuousClock.now
                let r = try await runCommand(cfg.membershipd, args)
                result.cliWall.append((ContinuousClock.now - c0).milliseconds)
                result.cliTries += 1
                guard r.status == 0 else {
                    result.cliErrors.append("exit \(r.status): \(r.stderr.prefix(200))")
                    continue
                }
                if let range = r.stdout.range(of: #"in (\d+) ms"#, options: .regularExpression) {
                    result.cliApplied.append(Double(r.stdout[range].dropFirst(3).dropLast(3)) ?? .nan)
                }
                do {
                    let connection = try await NatsConnection.connect(try target.swiftOptions(user))
                    try await connection.flush()
                    result.cliConnectOK += 1
                    await connection.close()
                } catch {
                    result.cliErrors.append("connect: \(error)")
                }
            }
            Log.info("engine revoke \(size): CLI add → connect \(result.cliConnectOK)/\(result.cliTries)")

            // 6: membershipd CPU per ACL change (half adds, half revokes), one change at a time.
            let changes = max(Int(EngineBench.environment["BENCH_CPU_CHANGES"] ?? "") ?? 40, 2)
            try await Task.sleep(for: .seconds(1))
            let m0 = ProcStat.cpu(servePID) ?? .nan, n0 = ProcStat.cpu(natsPID) ?? .nan
            let w0 = ContinuousClock.now
            var pending: [Identity] = []
            for i in 0..<changes {
                let mark = node.logMark
                if i % 2 == 0 {
                    let user = Identity(handle: "cpu\(i)", pair: UserKeyPair())
                    try RevokeBench.insert(db: node.db, users: [user], memberships: [(room, user)])
                    pending.append(user)
                } else {
                    _ = try await store.revokeUser(pending.removeLast().pair.signPub, at: Date())
                }
                let line = try await node.waitForReload(after: mark, timeout: .seconds(60))
                try await Task.sleep(for: .milliseconds(Int((line.render + line.reload) * 1e3) + 30))
            }
            let wall = ContinuousClock.now - w0
            let m1 = ProcStat.cpu(servePID) ?? .nan, n1 = ProcStat.cpu(natsPID) ?? .nan
            // The same wall time with no change: the feed's poll, heartbeats, the runtime.
            let i0 = ProcStat.cpu(servePID) ?? .nan
            try await Task.sleep(for: wall)
            let idle = (ProcStat.cpu(servePID) ?? .nan) - i0
            result.cpuChanges = changes
            result.cpuIdlePerChange = idle / Double(changes) * 1e3
            result.cpuPerChange = (m1 - m0 - idle) / Double(changes) * 1e3
            result.natsCPUPerChange = (n1 - n0) / Double(changes) * 1e3
            Log.info(
                "engine revoke \(size): membershipd CPU per change \(Format.fixed(result.cpuPerChange, 2)) ms (idle \(Format.fixed(result.cpuIdlePerChange, 2)) ms subtracted)"
            )
        }
        result.rssMB = (ProcStat.kilobytes(servePID, "VmRSS") ?? .nan) / 1024
        try await bystander.flush()
        result.bystanderKept = !bystander.isClosed && bystanderEvents.closedAt == nil
        await bystander.close()
        return result
    }

    static func report(_ cfg: BenchConfig, _ results: [Result]) -> String {
        var revoke = Table(
            "active users", "config", "revoke → closed p50 / p90 / p99", "bare SIGHUP reload p50 / p90 / p99", "ratio p50", "ratio p90",
            "ratio p99", "engine render p50", "engine write + reload p50 / max", "samples", "membershipd RSS")
        func three(_ v: [Double]) -> String {
            [50.0, 90, 99].map { Format.fixed(Stats.percentile(v, $0)) }.joined(separator: " / ") + " ms"
        }
        func ratio(_ r: Result, _ p: Double) -> String { Format.fixed(Stats.percentile(r.revoke, p) / Stats.percentile(r.bare, p), 2) + "×" }
        for r in results {
            revoke.add(
                Format.int(Double(r.size)), Format.bytes(r.configBytes), three(r.revoke), three(r.bare), ratio(r, 50), ratio(r, 90), ratio(r, 99),
                ms(Stats.median(r.engineRender)), "\(Format.fixed(Stats.median(r.engineReload))) / \(ms(r.engineReload.max() ?? .nan))",
                "\(r.revoke.count)" + (r.failures > 0 ? " (\(r.failures) never closed)" : ""), Format.fixed(r.rssMB, 0) + " MB")
        }
        var cli = Table(
            "active users", "connect right after `user add` returned", "CLI wall p50", "p99 (max)", "CLI's own \"applied … in X ms\" p50", "p99")
        var cpu = Table(
            "active users", "changes", "membershipd CPU per change (idle subtracted)", "idle share subtracted", "nats-server CPU per change")
        for r in results where r.cliTries > 0 {
            cli.add(
                Format.int(Double(r.size)), "\(r.cliConnectOK)/\(r.cliTries)", ms(Stats.percentile(r.cliWall, 50)),
                ms(Stats.percentile(r.cliWall, 99)),
                ms(Stats.percentile(r.cliApplied, 50)), ms(Stats.percentile(r.cliApplied, 99)))
            cpu.add(Format.int(Double(r.size)), "\(r.cpuChanges)", ms(r.cpuPerChange, 2), ms(r.cpuIdlePerChange, 2), ms(r.natsCPUPerChange, 1))
        }
        let errors = results.flatMap { r in r.cliErrors.map { "- \(Format.int(Double(r.size))) users: \($0)" } }
        let bystanders =
            results.allSatisfy(\.bystanderKept)
            ? "A bystander connection stayed connected through every size."
            : "**A bystander was disconnected** at \(results.filter { !$0.bystanderKept }.map { Format.int(Double($0.size)) }.joined(separator: ", ")) users."
        return """
            #### Revoke → live connection closed, vs a bare SIGHUP reload of the same config

            Per size: `membershipd serve` (enforce, SQLite) on size − 1 bulk-inserted users in rooms of 10. Each of \
            \(cfg.victims) rounds adds a victim (so `size` users are active), waits for its reload, connects it, waits \
            out the engine's pass spacing, SIGHUPs a standalone copy of the same config (same nats-server binary, no \
            clients) and times it to "Reloaded server configuration", then revokes the victim (`SQLiteAllowlistStore.revokeUser`, \
            the write `membershipd user revoke` makes) and times from that write returning to `.disconnected`/`.closed`. \
            Ratio = revoke / bare reload at the same percentile (nearest rank; with 20 samples p99 is the maximum). *engine render* \
            and *write + reload* are from membershipd's `ACL reloaded` lines.

            \(revoke.markdown)
            #### `membershipd user add` (the CLI) → first connect

            The CLI run as a separate process (`user add --db`), then at once one connect with that user's nkey and \
            client certificate, no retry. Wall = fork to exit of the CLI.

            \(cli.markdown)
            \(errors.isEmpty ? "" : "CLI or connect errors:\n\n" + errors.joined(separator: "\n") + "\n\n")\
            #### membershipd CPU per ACL change

            `/proc/<pid>/stat` utime + stime of membershipd over N changes applied one at a time (alternately add \
            a user with a room, revoke it; each waited for and followed by the pass spacing), minus membershipd's \
            CPU over the same wall time with no change (the change feed's poll, heartbeats).

            \(cpu.markdown)
            \(bystanders)

            """
    }

    static func ms(_ value: Double, _ digits: Int = 1) -> String { value.isFinite ? Format.fixed(value, digits) + " ms" : "—" }
}
