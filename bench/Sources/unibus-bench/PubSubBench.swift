import Foundation
import Synchronization
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor

/// Benchmark 1: pub/sub throughput and request/reply latency through `membershipd serve`
/// (enforce: nkey + client certificate + room ACL) against a plain nats-server with the same
/// TLS and no authorization, in the same run, alternating.
enum PubSubBench {
    struct Samples {
        var swiftThroughput: [ThroughputSample] = []
        var swiftLatency: [[Double]] = []
        /// The Swift publisher into the nats.c counting subscriber, `cMessages` per run.
        var swiftPublish: [ThroughputSample] = []
        /// Request/reply with the other two ways of replying (`swiftLatency` is `.sendAsap`).
        var swiftLatencyFlush: [[Double]] = []
        var swiftLatencyBuffered: [[Double]] = []
        var cThroughput: [ThroughputSample] = []
        var cLatency: [[Double]] = []
        // nats-server CPU µs per message delivered / per request answered, one per run.
        var swiftThroughputCPU: [Double] = []
        var swiftLatencyCPU: [Double] = []
        var cThroughputCPU: [Double] = []
        var cLatencyCPU: [Double] = []
    }

    /// Runs `body` and returns its result with the CPU seconds process `pid` used meanwhile.
    static func withServerCPU<T>(_ pid: Int32, _ body: () async throws -> T) async rethrows -> (T, Double) {
        let before = CPU.process(pid) ?? .nan
        let value = try await body()
        return (value, (CPU.process(pid) ?? .nan) - before)
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        do {
            return try await measure(cfg)
        } catch {
            throw BenchError("\(error)\n--- last lines of membershipd serve (unibus side) ---\n\(lastServeLog)")
        }
    }

    nonisolated(unsafe) static var lastServeLog = ""

    static func measure(_ cfg: BenchConfig) async throws -> String {
        let loadBefore = loadAverage()
        let executable = try await NatsServerExecutable.locate(cfg.natsServer)
        let node = try UnibusNode(membershipd: cfg.membershipd, natsServer: cfg.natsServer, label: "pubsub-serve")
        var raw: RawNatsNode?
        defer {
            lastServeLog = node.child.tail(25)
            raw?.stop()
            node.stop()
        }
        Log.info("pubsub: starting membershipd serve (enforce) on \(node.url)")
        try await node.start()
        let pub = Identity(handle: "benchpub", pair: UserKeyPair())
        let sub = Identity(handle: "benchsub", pair: UserKeyPair())
        try await node.cli(["user", "add", "--handle", pub.handle, "--sign-pub", pub.pair.signPub.hex, "--role", "admin", "--db", node.db])
        try await node.cli(["user", "add", "--handle", sub.handle, "--sign-pub", sub.pair.signPub.hex, "--role", "member", "--db", node.db])
        let store = try SQLiteAllowlistStore(path: node.db, create: false)
        let room = try RoomID("bench")
        try await store.createRoom(Room(id: room, createdBy: pub.pair.signPub, createdAt: Date()))
        try await store.putMember(Member(room: room, signPub: sub.pair.signPub, role: .member, addedAt: Date()))
        try await node.waitForConfig(containing: [pub.pair.nkey, sub.pair.nkey, "\"unibus.room.bench.>\""])

        let rawNode = try RawNatsNode(executable: executable, tlsDir: node.tlsDir, label: "pubsub-raw")
        raw = rawNode
        Log.info("pubsub: starting raw nats-server (same TLS, no authorization) on \(rawNode.url)")
        try await rawNode.start()

        let seeds = try makeTempDirectory("seeds").path
        let unibus = Target(name: "unibus", url: node.url, tlsDir: node.tlsDir, nkeys: true, seedDir: seeds)
        let plain = Target(name: "raw", url: rawNode.url, tlsDir: node.tlsDir, nkeys: false, seedDir: seeds)
        let subject = "unibus.room.bench.x"
        let rpc = "unibus.room.bench.rpc"

        // One discarded warm-up pass per side (a fifth of the messages), so the first measured run
        // does not pay for cold caches, TLS session setup or CPU frequency ramp-up.
        for target in [plain, unibus] {
            if cfg.swiftClient {
                _ = try await SwiftClientBench.throughput(
                    target, pub: pub, sub: sub, subject: subject, count: max(1, cfg.messages / 5), size: cfg.payload, timeout: cfg.runTimeout)
                for mode in SwiftClientBench.ReplyMode.allCases {
                    _ = try await SwiftClientBench.latency(
                        target, requester: pub, responder: sub, subject: rpc, count: cfg.warmup, warmup: 0, size: cfg.payload, mode: mode)
                }
            }
            if cfg.swiftClient && cfg.cClient {
                _ = try await SwiftClientBench.publishRate(
                    target, pub: pub, sub: sub, subject: subject, count: max(1, cfg.cMessages / 5), size: cfg.payload, timeout: cfg.runTimeout)
            }
            if cfg.cClient {
                let (count, size, timeout, warmup) = (max(1, cfg.cMessages / 5), cfg.payload, cfg.runTimeout, cfg.warmup)
                _ = try await onThread {
                    try CClientBench.throughput(target, pub: pub, sub: sub, subject: subject, count: count, size: size, timeout: timeout)
                }
                _ = try await onThread {
                    try CClientBench.latency(target, requester: pub, responder: sub, subject: rpc, count: warmup, warmup: 0, size: size)
                }
            }
            Log.info("pubsub: warm-up pass on \(target.name) done")
        }

        guard let unibusPID = node.natsServerPID else { throw BenchError("membershipd wrote no nats-server pid file") }
        let pids = ["raw": rawNode.child.pid, "unibus": unibusPID]
        var results: [String: Samples] = ["raw": Samples(), "unibus": Samples()]
        for run in 0..<cfg.runs {
            for target in run % 2 == 0 ? [plain, unibus] : [unibus, plain] {
                var s = results[target.name]!
                let pid = pids[target.name]!
                if cfg.swiftClient {
                    let (t, tCPU) = try await withServerCPU(pid) {
                        try await SwiftClientBench.throughput(
                            target, pub: pub, sub: sub, subject: subject, count: cfg.messages, size: cfg.payload, timeout: cfg.runTimeout)
                    }
                    s.swiftThroughput.append(t)
                    s.swiftThroughputCPU.append(tCPU * 1e6 / Double(t.received))
                    let (l, lCPU) = try await withServerCPU(pid) {
                        try await SwiftClientBench.latency(
                            target, requester: pub, responder: sub, subject: rpc, count: cfg.requests, warmup: cfg.warmup, size: cfg.payload)
                    }
                    s.swiftLatency.append(l)
                    s.swiftLatencyCPU.append(lCPU * 1e6 / Double(cfg.requests + cfg.warmup))
                    Log.info(
                        "pubsub run \(run + 1)/\(cfg.runs) \(target.name) swift: \(Format.int(t.messagesPerSecond)) msg/s "
                            + "(\(t.received)/\(t.count) received, \(t.subscriberErrors) subscriber errors, publisher \(Format.int(t.publishRate)) msg/s), "
                            + "req/reply p50 \(Format.fixed(Stats.percentile(l, 50))) µs p99 \(Format.fixed(Stats.percentile(l, 99))) µs")
                    for mode in [SwiftClientBench.ReplyMode.flush, .buffered] {
                        let samples = try await SwiftClientBench.latency(
                            target, requester: pub, responder: sub, subject: rpc, count: cfg.requests, warmup: cfg.warmup, size: cfg.payload,
                            mode: mode)
                        if mode == .flush { s.swiftLatencyFlush.append(samples) } else { s.swiftLatencyBuffered.append(samples) }
                        Log.info(
                            "pubsub run \(run + 1)/\(cfg.runs) \(target.name) swift, \(mode.rawValue): req/reply p50 "
                                + "\(Format.fixed(Stats.percentile(samples, 50))) µs p99 \(Format.fixed(Stats.percentile(samples, 99))) µs")
                    }
                }
                if cfg.swiftClient && cfg.cClient {
                    let p = try await SwiftClientBench.publishRate(
                        target, pub: pub, sub: sub, subject: subject, count: cfg.cMessages, size: cfg.payload, timeout: cfg.runTimeout)
                    s.swiftPublish.append(p)
                    Log.info(
                        "pubsub run \(run + 1)/\(cfg.runs) \(target.name) swift publisher → nats.c subscriber: "
                            + "\(Format.int(p.messagesPerSecond)) msg/s (\(p.received)/\(p.count) received), publisher \(Format.int(p.publishRate)) msg/s"
                    )
                }
                if cfg.cClient {
                    let (count, size, timeout, requests, warmup) = (cfg.cMessages, cfg.payload, cfg.runTimeout, cfg.requests, cfg.warmup)
                    let (t, tCPU) = try await withServerCPU(pid) {
                        try await onThread {
                            try CClientBench.throughput(target, pub: pub, sub: sub, subject: subject, count: count, size: size, timeout: timeout)
                        }
                    }
                    s.cThroughput.append(t)
                    s.cThroughputCPU.append(tCPU * 1e6 / Double(t.received))
                    let (l, lCPU) = try await withServerCPU(pid) {
                        try await onThread {
                            try CClientBench.latency(
                                target, requester: pub, responder: sub, subject: rpc, count: requests, warmup: warmup, size: size)
                        }
                    }
                    s.cLatency.append(l)
                    s.cLatencyCPU.append(lCPU * 1e6 / Double(requests + warmup))
                    Log.info(
                        "pubsub run \(run + 1)/\(cfg.runs) \(target.name) nats.c: \(Format.int(t.messagesPerSecond)) msg/s "
                            + "(\(t.received)/\(t.count) received, publisher \(Format.int(t.publishRate)) msg/s), "
                            + "req/reply p50 \(Format.fixed(Stats.percentile(l, 50))) µs p99 \(Format.fixed(Stats.percentile(l, 99))) µs")
                }
                results[target.name] = s
            }
        }
        let asyncErrors = CErrors.shared.count.load(ordering: .relaxed)
        let retries = CErrors.shared.connectRetries.load(ordering: .relaxed)
        var notes = "Load average (1/5/15 min) before: \(loadBefore); after: \(loadAverage())."
        if asyncErrors > 0 { notes += " nats.c reported \(asyncErrors) asynchronous errors (see stderr)." }
        if retries > 0 { notes += " \(retries) nats.c connect(s) refused with Authorization Violation and retried." }
        return report(cfg, raw: results["raw"]!, unibus: results["unibus"]!, version: executable.version.description) + "\n" + notes + "\n"
            + clientReport(cfg, raw: results["raw"]!, unibus: results["unibus"]!)
    }

    static func report(_ cfg: BenchConfig, raw: Samples, unibus: Samples, version: String) -> String {
        var table = Table("client", "measurement", "raw nats-server", "unibus enforce", "unibus/raw", "runs raw · unibus")
        func cpuRow(_ client: String, _ what: String, _ r: [Double], _ u: [Double]) {
            guard !r.isEmpty else { return }
            let (rm, um) = (Stats.median(r), Stats.median(u))
            table.add(client, what, Format.fixed(rm, 2), Format.fixed(um, 2), Format.ratio(um / rm), runs(r, u) { Format.fixed($0, 2) })
        }
        func throughputRows(_ client: String, _ r: [ThroughputSample], _ u: [ThroughputSample], _ count: Int) {
            guard !r.isEmpty else { return }
            let rr = r.map(\.messagesPerSecond), ur = u.map(\.messagesPerSecond)
            let (rm, um) = (Stats.median(rr), Stats.median(ur))
            table.add(
                client, "pub→sub msg/s, \(Format.int(Double(count))) × \(cfg.payload) B (median)", Format.int(rm), Format.int(um),
                Format.ratio(um / rm), runs(rr, ur, Format.int))
            let rp = r.map(\.publishRate), up = u.map(\.publishRate)
            table.add(
                client, "publisher alone msg/s (publish + flush)", Format.int(Stats.median(rp)), Format.int(Stats.median(up)),
                Format.ratio(Stats.median(up) / Stats.median(rp)), runs(rp, up, Format.int))
            let lost = (r + u).filter { $0.received != $0.count }
            if !lost.isEmpty {
                table.add(
                    client, "incomplete runs (received/sent, slow-consumer errors)", "", "", "",
                    lost.map { "\($0.received)/\($0.count) (\($0.subscriberErrors))" }.joined(separator: ", "))
            }
        }
        func latencyRows(_ client: String, _ r: [[Double]], _ u: [[Double]]) {
            guard !r.isEmpty else { return }
            for p in [50.0, 99.0] {
                let rr = r.map { Stats.percentile($0, p) }, ur = u.map { Stats.percentile($0, p) }
                let (rm, um) = (Stats.median(rr), Stats.median(ur))
                table.add(
                    client, "request/reply p\(Int(p)) µs, \(Format.int(Double(cfg.requests))) req (median of runs)",
                    Format.fixed(rm), Format.fixed(um), Format.ratio(um / rm), runs(rr, ur) { Format.fixed($0) })
            }
        }
        let (swift, c) = ("Swift `NatsConnection`", "nats.c tight loop")
        throughputRows(c, raw.cThroughput, unibus.cThroughput, cfg.cMessages)
        cpuRow(c, "nats-server CPU µs per message (pub→sub)", raw.cThroughputCPU, unibus.cThroughputCPU)
        latencyRows(c, raw.cLatency, unibus.cLatency)
        cpuRow(c, "nats-server CPU µs per request/reply", raw.cLatencyCPU, unibus.cLatencyCPU)
        throughputRows(swift, raw.swiftThroughput, unibus.swiftThroughput, cfg.messages)
        cpuRow(swift, "nats-server CPU µs per message (pub→sub)", raw.swiftThroughputCPU, unibus.swiftThroughputCPU)
        latencyRows(swift, raw.swiftLatency, unibus.swiftLatency)
        cpuRow(swift, "nats-server CPU µs per request/reply", raw.swiftLatencyCPU, unibus.swiftLatencyCPU)
        return """
            ### 1. Pub/sub through the unibus ACL vs a raw nats-server

            Both servers: nats-server \(version), TLS with `verify: true` (client certificate), on 127.0.0.1, \
            started in the same run. *raw* is the config membershipd renders minus its `authorization` block; \
            *unibus* is `membershipd serve --bus-auth enforce` with nkey users and room ACLs. \
            After one discarded warm-up pass per side, \(cfg.runs) runs per side, alternating which side goes \
            first; the table shows medians. \
            Throughput = first publish until the last message arrives on a second connection \
            (`unibus.room.bench.x`); latency = `request` on `unibus.room.bench.rpc`, echoed by a subscriber \
            on another connection into the requester's `_INBOX.<handle>` (\(cfg.warmup) warm-up requests dropped; \
            the Swift responder's connection has `sendAsap`, the nats.c loop's connections `SendAsap`). \
            For throughput and publisher rate, a ratio ≥ 0.95 meets the target; for latency lower is better \
            (≤ 1.05 is within 5 %). *nats-server CPU* is the server process's CPU time (all threads, \
            `/proc/<pid>/task/*/schedstat`) over the run divided by messages delivered or requests answered: \
            unlike wall-clock rates it barely moves when other work shares the machine, so it is the \
            steadier measure of what the ACL costs the server (lower is better).

            \(table.markdown)
            """
    }

    /// The Swift client against the nats.c loop, per server, from the same runs: the publisher
    /// (into the same nats.c subscriber) and request/reply for each way the responder replies.
    static func clientReport(_ cfg: BenchConfig, raw: Samples, unibus: Samples) -> String {
        guard !raw.swiftPublish.isEmpty, !raw.cThroughput.isEmpty else { return "" }
        var table = Table("server", "measurement", "Swift `NatsConnection`", "nats.c loop", "Swift/nats.c", "runs Swift · nats.c")
        for (name, s) in [("raw", raw), ("unibus", unibus)] {
            let swiftRate = s.swiftPublish.map(\.publishRate), cRate = s.cThroughput.map(\.publishRate)
            table.add(
                name, "publisher alone msg/s (publish × \(Format.int(Double(cfg.cMessages))) + flush)",
                Format.int(Stats.median(swiftRate)), Format.int(Stats.median(cRate)),
                Format.ratio(Stats.median(swiftRate) / Stats.median(cRate)), runs(swiftRate, cRate, Format.int))
            let swiftDelivered = s.swiftPublish.map(\.messagesPerSecond), cDelivered = s.cThroughput.map(\.messagesPerSecond)
            table.add(
                name, "pub→sub msg/s (same nats.c subscriber)",
                Format.int(Stats.median(swiftDelivered)), Format.int(Stats.median(cDelivered)),
                Format.ratio(Stats.median(swiftDelivered) / Stats.median(cDelivered)), runs(swiftDelivered, cDelivered, Format.int))
            let modes: [(String, [[Double]])] = [
                (SwiftClientBench.ReplyMode.sendAsap.rawValue, s.swiftLatency),
                (SwiftClientBench.ReplyMode.flush.rawValue, s.swiftLatencyFlush),
                (SwiftClientBench.ReplyMode.buffered.rawValue, s.swiftLatencyBuffered),
            ]
            for (mode, swift) in modes where !swift.isEmpty {
                for p in [50.0, 99.0] {
                    let sw = swift.map { Stats.percentile($0, p) }, c = s.cLatency.map { Stats.percentile($0, p) }
                    table.add(
                        name, "request/reply p\(Int(p)) µs, Swift responder: \(mode)",
                        Format.fixed(Stats.median(sw)), Format.fixed(Stats.median(c)),
                        Format.ratio(Stats.median(sw) / Stats.median(c)), runs(sw, c) { Format.fixed($0) })
                }
            }
        }
        return """

            #### Swift `NatsConnection` vs the nats.c loop, same runs

            Publisher: `NatsConnection.publish` called \(Format.int(Double(cfg.cMessages))) times from one task, then `flush`, \
            into the same counting nats.c subscriber the nats.c loop publishes to. Request/reply: the Swift requester \
            (`request`, default options) and a Swift responder that echoes from its `subscribe` stream in one of \
            three ways; the nats.c loop uses `natsConnection_Request` and an echoing C callback, both connections \
            `SendAsap`. Targets (issue 10): publisher ≥ 0.5, request/reply p50 ≤ 1.5 (sendAsap responder).

            \(table.markdown)
            """
    }

    private static func runs(_ r: [Double], _ u: [Double], _ format: (Double) -> String) -> String {
        r.map(format).joined(separator: " / ") + " · " + u.map(format).joined(separator: " / ")
    }
}
