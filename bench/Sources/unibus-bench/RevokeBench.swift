import Foundation
import GRDB
import Synchronization
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor

/// Benchmark 2: revoke → the victim's live connection is closed, with N active users in the
/// allowlist; plus where the ACL reload's time goes at each size.
enum RevokeBench {
    struct SizeResult {
        let size: Int
        var latencies: [Double] = []  // ms, write returned → .disconnected/.closed
        var residuals: [Double] = []  // ms, latency − (render + reload) of the same reload
        var failures = 0
        var revokeReloads: [AclReloadLine] = []
        var addReloads: [AclReloadLine] = []
        var writeMs: [Double] = []
        var configBytes = 0
        var snapshotMs = Double.nan
        var renderMs = Double.nan
        var permissionsMs = Double.nan
        var checkMs = Double.nan
        var sighupMs = Double.nan
        // CPU seconds per revocation (write → close and reload logged).
        var cpuMembershipd: [Double] = []
        var cpuCheck: [Double] = []
        var cpuNatsServer: [Double] = []
        // CPU ms of each piece measured separately (medians).
        var snapshotRenderCPU = Double.nan
        var checkCPU = Double.nan
        var sighupCPU = Double.nan
        var bystanderKept = true
        var setupSeconds = 0.0
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        let loadBefore = loadAverage()
        let executable = try await NatsServerExecutable.locate(cfg.natsServer)
        var results: [SizeResult] = []
        for size in cfg.sizes {
            results.append(try await measure(size: size, cfg, executable))
        }
        return report(cfg, results) + "\nLoad average (1/5/15 min) before: \(loadBefore); after: \(loadAverage()).\n"
    }

    static func measure(size: Int, _ cfg: BenchConfig, _ executable: NatsServerExecutable) async throws -> SizeResult {
        precondition(size >= 2, "a size needs the bystander and a victim")
        var result = SizeResult(size: size)
        let setupStart = ContinuousClock.now
        let node = try UnibusNode(membershipd: cfg.membershipd, natsServer: cfg.natsServer, label: "revoke-\(size)")
        defer { node.stop() }

        // size − 1 users already there (bulk, one transaction) in rooms of 10; each round adds one
        // victim, so every revocation happens with exactly `size` active users.
        let fillers = (0..<(size - 1)).map { Identity(handle: String(format: "u%06d", $0), pair: UserKeyPair()) }
        let roomSize = 10
        let rooms = stride(from: 0, to: fillers.count, by: roomSize).map { i in
            (id: String(format: "r%05d", i / roomSize), members: Array(fillers[i..<min(i + roomSize, fillers.count)]))
        }
        _ = try SQLiteAllowlistStore(path: node.db, create: true)  // creates and migrates the file
        try insert(db: node.db, users: fillers, rooms: rooms.map { ($0.id, $0.members) })
        Log.info("revoke \(size): \(fillers.count) users in \(rooms.count) rooms inserted; starting membershipd serve")
        try await node.start()
        result.setupSeconds = (ContinuousClock.now - setupStart).seconds
        Log.info("revoke \(size): serve ready after \(Format.fixed(result.setupSeconds, 2)) s of setup")

        let seeds = try makeTempDirectory("seeds-\(size)").path
        let target = Target(name: "unibus", url: node.url, tlsDir: node.tlsDir, nkeys: true, seedDir: seeds)
        let bystanderRoom = rooms[0].id
        let bystander = try await NatsConnection.connect(try target.swiftOptions(fillers[0]))
        let bystanderEvents = EventClock(bystander)
        let bystanderSub = try await bystander.subscribe("unibus.room.\(bystanderRoom).>")
        try await bystander.flush()

        let store = try SQLiteAllowlistStore(path: node.db, create: false)
        for i in 0..<cfg.victims {
            let victim = Identity(handle: "victim\(i)", pair: UserKeyPair())
            var mark = node.logMark
            try insert(db: node.db, users: [victim], memberships: [(bystanderRoom, victim)])
            result.addReloads.append(try await node.waitForReload(after: mark, containing: [victim.pair.nkey]))

            let connection = try await NatsConnection.connect(try target.swiftOptions(victim))
            let events = EventClock(connection)
            let subscription = try await connection.subscribe("unibus.room.\(bystanderRoom).>")
            try await connection.flush()
            try await Task.sleep(for: .milliseconds(20))

            guard let natsPID = node.natsServerPID else { throw BenchError("membershipd wrote no nats-server pid file") }
            let servePID = node.child.pid
            let (m0, c0, n0) = (CPU.process(servePID) ?? .nan, CPU.reapedChildren(servePID) ?? .nan, CPU.process(natsPID) ?? .nan)
            mark = node.logMark
            let w0 = ContinuousClock.now
            _ = try await store.revokeUser(victim.pair.signPub, at: Date())
            let t0 = ContinuousClock.now
            result.writeMs.append((t0 - w0).milliseconds)
            guard let closedAt = await events.waitForClose(timeout: .seconds(15)) else {
                result.failures += 1
                Log.info("revoke \(size): victim \(i) was not disconnected within 15 s")
                continue
            }
            let latency = (closedAt - t0).milliseconds
            result.latencies.append(latency)
            let reload = try await node.waitForReload(after: mark)
            result.revokeReloads.append(reload)
            result.cpuMembershipd.append((CPU.process(servePID) ?? .nan) - m0)
            result.cpuCheck.append((CPU.reapedChildren(servePID) ?? .nan) - c0)
            result.cpuNatsServer.append((CPU.process(natsPID) ?? .nan) - n0)
            result.residuals.append(latency - (reload.render + reload.reload) * 1e3)
            try? await subscription.drain(timeout: .seconds(1))
            withExtendedLifetime(connection) {}
        }
        try await bystander.flush()
        result.bystanderKept = !bystander.isClosed && bystanderEvents.closedAt == nil
        try? await bystanderSub.drain(timeout: .seconds(2))
        await bystander.close()

        // Where the reload's time goes, measured piece by piece on the final allowlist.
        let text = try String(contentsOfFile: node.configFile, encoding: .utf8)
        result.configBytes = text.utf8.count
        var snapshotTimes: [Double] = [], renderTimes: [Double] = [], permissionTimes: [Double] = [], checkTimes: [Double] = [],
            sighupTimes: [Double] = []
        let internalNkey = UserKeyPair().nkey
        var cpuRender: [Double] = [], cpuCheck: [Double] = [], cpuSighup: [Double] = []
        for _ in 0..<5 {
            let cpu0 = CPU.own()
            let a = ContinuousClock.now
            let snapshot = try await store.snapshot(internalNkey: internalNkey)
            let b = ContinuousClock.now
            let block = try AuthorizationRenderer.render(snapshot)
            let c = ContinuousClock.now
            cpuRender.append(CPU.own() - cpu0)
            let entries = AuthorizationRenderer.users(snapshot)
            let e = ContinuousClock.now
            precondition(!block.isEmpty && !entries.isEmpty)
            snapshotTimes.append((b - a).milliseconds)
            renderTimes.append((c - b).milliseconds)
            permissionTimes.append((e - c).milliseconds)
            let configFile = node.configFile
            let children0 = CPU.ownChildren()
            let d = ContinuousClock.now
            try await executable.checkConfig(configFile)
            checkTimes.append((ContinuousClock.now - d).milliseconds)
            cpuCheck.append(CPU.ownChildren() - children0)
        }
        let copy = try RawNatsNode(executable: executable, copying: text, label: "reload-\(size)")
        do {
            try await copy.start()
            for _ in 0..<5 {
                let before = CPU.process(copy.child.pid) ?? .nan
                sighupTimes.append(try await copy.reload().milliseconds)
                cpuSighup.append((CPU.process(copy.child.pid) ?? .nan) - before)
            }
            copy.stop()
        } catch {
            copy.stop()
            throw error
        }
        result.snapshotMs = Stats.median(snapshotTimes)
        result.renderMs = Stats.median(renderTimes)
        result.permissionsMs = Stats.median(permissionTimes)
        result.checkMs = Stats.median(checkTimes)
        result.sighupMs = Stats.median(sighupTimes)
        result.snapshotRenderCPU = Stats.median(cpuRender) * 1e3
        result.checkCPU = Stats.median(cpuCheck) * 1e3
        result.sighupCPU = Stats.median(cpuSighup) * 1e3
        Log.info(
            "revoke \(size): p50 \(Format.fixed(Stats.percentile(result.latencies, 50))) ms, "
                + "p99 \(Format.fixed(Stats.percentile(result.latencies, 99))) ms over \(result.latencies.count) victims")
        return result
    }

    /// Inserts users (and rooms, first member as owner; and memberships) in one IMMEDIATE
    /// transaction, with the same columns and values the store writes.
    static func insert(
        db path: String, users: [Identity], rooms: [(id: String, members: [Identity])] = [],
        memberships: [(room: String, user: Identity)] = []
    ) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        let now = Date().timeIntervalSince1970
        try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let user = try db.makeStatement(
                    sql: """
                        INSERT INTO users (sign_pub, handle, role, status, created_at, revoked_at)
                        VALUES (?, ?, 'member', 'active', ?, NULL)
                        """)
                for u in users { try user.execute(arguments: [u.pair.signPub.hex, u.handle, now]) }
                let room = try db.makeStatement(sql: "INSERT INTO rooms (id, created_by, created_at) VALUES (?, ?, ?)")
                let member = try db.makeStatement(sql: "INSERT INTO members (room, sign_pub, role, added_at) VALUES (?, ?, ?, ?)")
                for r in rooms {
                    try room.execute(arguments: [r.id, r.members[0].pair.signPub.hex, now])
                    for (i, m) in r.members.enumerated() {
                        try member.execute(arguments: [r.id, m.pair.signPub.hex, i == 0 ? "owner" : "member", now])
                    }
                }
                for m in memberships { try member.execute(arguments: [m.room, m.user.pair.signPub.hex, "member", now]) }
                return .commit
            }
        }
    }

    static func report(_ cfg: BenchConfig, _ results: [SizeResult]) -> String {
        var latency = Table(
            "active users", "config", "revoke → closed p50", "p90", "p99", "max", "samples",
            "membershipd render p50", "membershipd reload p50", "rest (feed poll + close) p50")
        for r in results {
            let render = Stats.median(r.revokeReloads.map { $0.render * 1e3 })
            let reload = Stats.median(r.revokeReloads.map { $0.reload * 1e3 })
            latency.add(
                Format.int(Double(r.size)), Format.bytes(r.configBytes),
                ms(Stats.percentile(r.latencies, 50)), ms(Stats.percentile(r.latencies, 90)),
                ms(Stats.percentile(r.latencies, 99)), ms(r.latencies.max() ?? .nan),
                "\(r.latencies.count)" + (r.failures > 0 ? " (\(r.failures) never closed)" : ""),
                ms(render), ms(reload), ms(Stats.median(r.residuals)))
        }
        var parts = Table(
            "active users", "snapshot read (SQLite)", "render ACL (of which `users()`)", "`nats-server -t` (fork + parse)",
            "SIGHUP → \"Reloaded\" (nats-server)", "add-user reload p50 (render + reload)")
        for r in results {
            let add = Stats.median(r.addReloads.map { ($0.render + $0.reload) * 1e3 })
            parts.add(
                Format.int(Double(r.size)), ms(r.snapshotMs), "\(ms(r.renderMs)) (\(ms(r.permissionsMs)))",
                ms(r.checkMs), ms(r.sighupMs), ms(add))
        }
        var cpu = Table(
            "active users", "membershipd (feed, snapshot, render, write)", "`nats-server -t` children",
            "nats-server (reload, close)", "total CPU per revocation",
            "standalone: snapshot + render", "standalone: `-t`", "standalone: SIGHUP reload")
        for r in results {
            let (m, c, n) = (Stats.median(r.cpuMembershipd) * 1e3, Stats.median(r.cpuCheck) * 1e3, Stats.median(r.cpuNatsServer) * 1e3)
            cpu.add(
                Format.int(Double(r.size)), ms(m), ms(c), ms(n), ms(m + c + n),
                ms(r.snapshotRenderCPU), ms(r.checkCPU), ms(r.sighupCPU))
        }
        let bystanders =
            results.allSatisfy(\.bystanderKept)
            ? "In every size a bystander connection (another user, subscribed to the victims' room) stayed connected through all revocations."
            : "**A bystander connection was disconnected** in: \(results.filter { !$0.bystanderKept }.map { Format.int(Double($0.size)) }.joined(separator: ", ")) users."
        return """
            ### 2. Revoke → live connection closed

            Per size: a fresh `membershipd serve` (enforce) whose SQLite allowlist was bulk-filled before start \
            with size − 1 users in rooms of 10. Each of \(cfg.victims) rounds adds one victim (so each revocation \
            happens with exactly *size* active users), waits for that reload, connects the victim (nkey + client \
            certificate, subscribed to a room), then calls `SQLiteAllowlistStore.revokeUser` — the write \
            `membershipd user revoke` makes — from the bench process. Latency = from that write returning to the \
            victim's `NatsConnection.events` yielding `.disconnected`/`.closed`. With \(cfg.victims) samples, p99 is \
            the maximum. *render* and *reload* are parsed from membershipd's `ACL reloaded: … (render X, reload Y)` \
            log lines of the same revocations: render = snapshot read + rendering; reload = write candidate + \
            `nats-server -t` + rename + SIGHUP until nats-server logs "Reloaded server configuration". *rest* = latency \
            − render − reload: the change feed's `PRAGMA data_version` poll (every 25 ms) and the close reaching the client.

            \(latency.markdown)
            Where the time goes (medians of 5, measured separately on the final allowlist of each size; the SIGHUP \
            reload is timed on a standalone nats-server running a copy of that config, with no clients):

            \(parts.markdown)
            CPU time, which other load on the machine barely changes (medians; per revocation from the write to \
            the reload being logged; `-t` children are counted by the kernel in 10 ms ticks, so at small sizes \
            that column is 0 or 10 ms). On an idle machine the critical path of a revocation is roughly the total \
            plus the change feed's poll delay (0–25 ms):

            \(cpu.markdown)
            \(bystanders)

            """
    }

    private static func ms(_ value: Double) -> String { value.isFinite ? Format.fixed(value) + " ms" : "—" }
}

/// Records when a connection first reports `.disconnected` or `.closed`.
final class EventClock: @unchecked Sendable {
    private let lock = NSLock()
    private var closed: ContinuousClock.Instant?
    private var task: Task<Void, Never>?

    init(_ connection: NatsConnection) {
        let events = connection.events
        task = Task { [weak self] in
            for await event in events {
                switch event {
                case .disconnected, .closed:
                    self?.record(ContinuousClock.now)
                default:
                    break
                }
            }
        }
    }

    private func record(_ now: ContinuousClock.Instant) {
        lock.withLock { if closed == nil { closed = now } }
    }

    var closedAt: ContinuousClock.Instant? { lock.withLock { closed } }

    func waitForClose(timeout: Duration) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let at = closedAt { return at }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return closedAt
    }

    deinit { task?.cancel() }
}
