import Foundation
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusStoreKV
import UnibusSupervisor

/// Benchmark 6 (issue 12): a 3-node cluster (KV R3, routes on loopback) through faults. Cold
/// start to all-green, KV write latency at R3 against a single R1 node, revoke on node A →
/// connection closed on node C, the write outage when the users bucket's leader is SIGKILLed,
/// reconvergence after two nodes are lost, and clientcheck's throughput through a node loss.
enum ClusterBench {
    /// One node of the cluster: `membershipd serve --store kv --kv-replicas 3` with routes.
    final class Member: @unchecked Sendable {
        let index: Int
        let dir: URL
        let natsPort = FreePort.next()
        let httpPort = FreePort.next()
        var child: BenchProcess
        let arguments: [String]
        let membershipd: String

        init(_ index: Int, dir: URL, routePorts: [Int], membershipd: String, natsServer: String, cluster: Bool) {
            self.index = index
            self.dir = dir
            self.membershipd = membershipd
            var args = ["serve", "--store", "kv", "--nats-port", "\(natsPort)", "--http-port", "\(httpPort)", "--nats-server", natsServer]
            if cluster {
                args += [
                    "--kv-replicas", "3", "--server-name", "n\(index + 1)", "--cluster-name", "bench", "--cluster-port",
                    "\(routePorts[index])", "--routes", routePorts.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ","),
                ]
            } else {
                args += ["--cluster-port", "\(FreePort.next())"]
            }
            arguments = args
            child = Self.process(membershipd, args, dir)
        }

        static func process(_ membershipd: String, _ args: [String], _ dir: URL) -> BenchProcess {
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "UNIBUS_NATS_MONITOR")
            env.removeValue(forKey: "UNIBUS_NATS_DEBUG")
            return BenchProcess(
                name: "membershipd serve", executable: membershipd, arguments: args, directory: dir, environment: env,
                logFile: dir.appendingPathComponent("membershipd-\(Int(Date().timeIntervalSince1970 * 1000)).log").path)
        }

        var tls: String { dir.appendingPathComponent("local_files/tls").path }
        var name: String { "n\(index + 1)" }
        var kvFlags: [String] {
            [
                "--nats-url", "nats://127.0.0.1:\(natsPort)", "--ca", "\(tls)/ca.crt", "--internal-id-file",
                dir.appendingPathComponent("local_files/internal.id").path,
            ]
        }

        func start() async throws { try await child.start() }

        /// A fresh process in the same directory (after a crash).
        func restart() async throws {
            child = Self.process(membershipd, arguments, dir)
            try await child.start()
        }

        /// SIGKILL membershipd and its nats-server together, as a crashed machine.
        func crash() {
            let pidFile = dir.appendingPathComponent("local_files/nats-server.pid").path
            let server = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let server { kill(server, SIGKILL) }
            child.stop(signal: SIGKILL, grace: 5)
        }

        func waitOpen(timeout: Duration = .seconds(120)) async throws {
            guard await child.waitForLine(containing: "KV allowlist open", timeout: timeout) != nil else {
                throw BenchError("\(name): KV never opened:\n\(child.tail())")
            }
        }

        /// The store as membershipd's internal identity (another client, like another process).
        func store() async throws -> KVAllowlistStore {
            var o = NatsConnectOptions(servers: ["tls://127.0.0.1:\(natsPort)"], name: "bench-kv", timeout: .seconds(5))
            o.tls = NatsTLSFiles(caFile: "\(tls)/ca.crt", certFile: "\(tls)/client.crt", keyFile: "\(tls)/client.key")
            let identity = try InternalIdentityFile.load(dir.appendingPathComponent("local_files/internal.id").path)
            o.nkey = NatsNKeyCredentials(publicKey: identity.nkey, seed: try NatsNKeySeed(identity.seed))
            return try await KVAllowlistStore.connect(o, configuration: KVStoreConfiguration(replicas: 3, wait: .seconds(5)))
        }

        /// A user's connection to this node.
        func connect(_ pair: UserKeyPair, handle: String) async throws -> NatsConnection {
            var o = NatsConnectOptions(servers: ["tls://127.0.0.1:\(natsPort)"], name: "bench-user", timeout: .seconds(5))
            o.tls = NatsTLSFiles(caFile: "\(tls)/ca.crt", certFile: "\(tls)/client.crt", keyFile: "\(tls)/client.key")
            o.nkey = NatsNKeyCredentials(publicKey: pair.nkey, seed: try NatsNKeySeed(pair.seed))
            o.customInboxPrefix = Subjects.inboxPrefix(try Handle(handle))
            o.allowReconnect = false
            return try await NatsConnection.connect(o)
        }
    }

    static func run(_ cfg: BenchConfig) async throws -> String {
        let root = try makeTempDirectory("unibus-bench-cluster")
        // One development CA for every node (one client certificate works on all three).
        let tls = root.appendingPathComponent("n1/local_files/tls").path
        let made = try await runCommand(cfg.membershipd, ["certs", "dev", "--out", tls, "--client", "client", "--client", "member"])
        guard made.status == 0 else { throw BenchError("certs dev: \(made.stderr)") }
        var dirs: [URL] = []
        for i in 0..<4 {
            let dir = root.appendingPathComponent("n\(i + 1)")
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("local_files"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if i > 0 { try FileManager.default.copyItem(atPath: tls, toPath: dir.appendingPathComponent("local_files/tls").path) }
            dirs.append(dir)
        }
        let routePorts = (0..<3).map { _ in FreePort.next() }
        let nodes = (0..<3).map {
            Member($0, dir: dirs[$0], routePorts: routePorts, membershipd: cfg.membershipd, natsServer: cfg.natsServer, cluster: true)
        }
        defer { for node in nodes { node.crash() } }
        var rows: [(String, String)] = []

        // 1. Cold start: three started together → `cluster status --wait` exits 0.
        Log.info("cluster: cold start of three nodes")
        let coldStart = ContinuousClock.now
        for node in nodes { try await node.start() }
        let green = try await runCommand(cfg.membershipd, ["cluster", "status", "--wait", "--timeout", "180"] + nodes[0].kvFlags)
        guard green.status == 0 else { throw BenchError("cluster never all-green: \(green.stderr)") }
        rows.append(("cold start (3 together) → `cluster status --wait` all current", "\(Format.fixed((ContinuousClock.now - coldStart).seconds)) s"))

        // 2. KV write latency (sequential user adds through the store) at R3, then at R1 alone.
        let a = try await nodes[0].store()
        let writes = min(cfg.storeOps, 300)
        var stalls = 0
        let r3 = try await timeSequential(writes) { i in stalls += try await Self.add(Self.user("r3w\(i)", 10_000 + i), to: a) }
        let single = Member(3, dir: dirs[3], routePorts: [], membershipd: cfg.membershipd, natsServer: cfg.natsServer, cluster: false)
        try await single.start()
        try await single.waitOpen()
        var r1Options = NatsConnectOptions(servers: ["tls://127.0.0.1:\(single.natsPort)"], name: "bench-kv", timeout: .seconds(5))
        r1Options.tls = NatsTLSFiles(caFile: "\(single.tls)/ca.crt", certFile: "\(single.tls)/client.crt", keyFile: "\(single.tls)/client.key")
        let r1Identity = try InternalIdentityFile.load(dirs[3].appendingPathComponent("local_files/internal.id").path)
        r1Options.nkey = NatsNKeyCredentials(publicKey: r1Identity.nkey, seed: try NatsNKeySeed(r1Identity.seed))
        let r1Store = try await KVAllowlistStore.connect(r1Options, configuration: KVStoreConfiguration(replicas: 1))
        let r1 = try await timeSequential(writes) { i in stalls += try await Self.add(Self.user("r1w\(i)", 20_000 + i), to: r1Store) }
        single.child.stop()
        rows.append(("KV write (user add) p50 / p99, R3 cluster, \(writes) sequential", "\(Format.int(r3.p50)) / \(Format.int(r3.p99)) µs"))
        rows.append(("KV write (user add) p50 / p99, R1 single node, \(writes) sequential", "\(Format.int(r1.p50)) / \(Format.int(r1.p99)) µs"))
        rows.append(("R3 ÷ R1 (p50)", Format.ratio(r3.p50 / r1.p50)))
        rows.append(("writes asked again after JetStream did not answer (2.9.10 reloading accounts), both runs", "\(stalls)"))

        // 3. Revoke on node A (n1) → the user's connection on node C (n3) closed.
        let victims = min(cfg.victims, 40)
        var revokeMillis: [Double] = []
        for v in 0..<victims {
            let handle = "rv\(v)"
            let user = Self.user(handle, 30_000 + v)
            _ = try await Self.add(user, to: a)
            var connection: NatsConnection?
            for _ in 0..<100 where connection == nil {  // until node C has the new user in force
                connection = try? await nodes[2].connect(Fixture.pair(30_000 + v), handle: handle)
                if connection == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            guard let connection else { throw BenchError("\(handle) never connected to n3") }
            let events = connection.events
            let closed = Task {
                for await event in events where event == .closed || event == .disconnected { return ContinuousClock.now }
                return ContinuousClock.now
            }
            let t0 = ContinuousClock.now
            _ = try await a.revokeUser(user.signPub, at: Date())
            let at = await closed.value
            revokeMillis.append((at - t0).seconds * 1000)
            await connection.close()
        }
        rows.append(
            (
                "revoke on n1 → connection on n3 closed, p50 / p99 (\(victims) users)",
                "\(Format.int(Stats.percentile(revokeMillis, 50))) / \(Format.int(Stats.percentile(revokeMillis, 99))) ms"
            ))

        // 4. Leader kill: writes every 20 ms through a node that stays up; the gap around the kill.
        let status = try await a.jetStream.bucketStatus(KVAllowlistStore.Bucket.users.rawValue)
        let leader = nodes.first { $0.name == status.leader } ?? nodes[1]
        let writerNode = nodes.first { $0.index != leader.index }!
        let writer = try await writerNode.store()
        var successes: [ContinuousClock.Instant] = []
        var failures = 0
        let killAt = ContinuousClock.now + .seconds(1)
        var killed = false
        var n = 0
        while ContinuousClock.now < killAt + .seconds(25) {
            if !killed && ContinuousClock.now >= killAt {
                Log.info("cluster: SIGKILL \(leader.name) (leader of UNIBUS_users)")
                leader.crash()
                killed = true
            }
            n += 1
            do {
                try await writer.addUser(Self.user("lk\(n)", 40_000 + n))
                successes.append(.now)
                if killed, successes.count > 5, let last = successes.last, last > killAt + .seconds(2) { break }
            } catch {
                failures += 1
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let before = successes.last { $0 < killAt } ?? killAt
        let after = successes.first { $0 >= killAt } ?? .now
        rows.append(
            (
                "write outage when the users bucket's leader is SIGKILLed (last ok before → first ok after)",
                "\(Format.int((after - before).seconds * 1000)) ms (\(failures) failed writes)"
            ))

        // 5. Two nodes lost, then both back: time until `cluster status --wait` exits 0.
        let second = nodes.first { $0.index != leader.index && $0.index != writerNode.index }!
        second.crash()
        try await Task.sleep(for: .seconds(2))
        let back = ContinuousClock.now
        try await leader.restart()
        try await second.restart()
        let again = try await runCommand(cfg.membershipd, ["cluster", "status", "--wait", "--timeout", "180"] + writerNode.kvFlags)
        guard again.status == 0 else { throw BenchError("no reconvergence: \(again.stderr)") }
        rows.append(("two nodes lost, both restarted → all current again", "\(Format.fixed((ContinuousClock.now - back).seconds)) s"))

        // 6. clientcheck through a node loss (every node a seed): throughput and what it lost.
        let member = Fixture.pair(50_000)
        try await writer.addUser(User(signPub: member.signPub, handle: try Handle("member"), role: .member, createdAt: Date()))
        let seed = root.appendingPathComponent("member.seed").path
        _ = FileManager.default.createFile(atPath: seed, contents: Data(Hex.encode(member.seed).utf8), attributes: [.posixPermissions: 0o600])
        let arguments =
            [
                "clientcheck", "--api", "https://127.0.0.1:\(writerNode.httpPort)", "--key-file", seed, "--handle", "member",
                "--client-cert", "\(tls)/member.crt", "--client-key", "\(tls)/member.key", "--ca", "\(tls)/ca.crt", "--count", "20000", "--rate",
                "100000",
                "--timeout", "120", "--json",
            ] + nodes.flatMap { ["--nats-url", "nats://127.0.0.1:\($0.natsPort)"] }
        let out = root.appendingPathComponent("clientcheck.json").path
        let membershipd = cfg.membershipd
        let run = Task { try await runToFile(membershipd, arguments, out) }
        try await Task.sleep(for: .seconds(2))
        Log.info("cluster: SIGKILL \(second.name) while clientcheck runs")
        second.crash()
        let exit = try await run.value
        let json = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        rows.append(
            (
                "clientcheck through a node loss (20,000 acknowledged messages, every node a seed)",
                "exit \(exit): \(json.trimmingCharacters(in: .whitespacesAndNewlines))"
            ))

        var md =
            "### 6. Cluster through faults (issue 12)\n\nThree nodes on loopback (KV R3, route TLS off, one shared development CA); `scripts/bench.sh cluster`.\n\n"
        md += "| measure | value |\n|---|---|\n"
        for (k, v) in rows { md += "| \(k) | \(v) |\n" }
        return md
    }

    /// Adds `user`, asking again while JetStream does not answer (as an operator would; a retry
    /// that finds the user already there counts as done). Returns how many times it asked again.
    static func add(_ user: User, to store: KVAllowlistStore) async throws -> Int {
        for attempt in 0..<10 {
            do {
                try await store.addUser(user)
                return attempt
            } catch StoreError.unavailable(let why) {
                Log.info("cluster: \(user.handle) unavailable (\(why)); again")
            } catch StoreError.alreadyRegistered where attempt > 0 {
                return attempt
            }
        }
        throw BenchError("\(user.handle): JetStream did not answer in 10 tries")
    }

    static func user(_ handle: String, _ n: Int) -> User {
        let pair = Fixture.pair(n)
        return User(signPub: pair.signPub, handle: try! Handle(handle), role: .member, createdAt: Date())
    }
}

/// Deterministic key pairs for bench users.
enum Fixture {
    static func pair(_ n: Int) -> UserKeyPair {
        var seed = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: UInt64(n).littleEndian) { for (i, b) in $0.enumerated() { seed[i] = b } }
        seed[31] = 0x42
        return try! UserKeyPair(seed: seed)
    }
}

/// Runs a command to completion with its stdout in `file`; returns its exit code.
func runToFile(_ executable: String, _ arguments: [String], _ file: String) async throws -> Int32 {
    let result = try await Command(executable, arguments).output()
    try result.stdout.write(toFile: file, atomically: true, encoding: .utf8)
    return result.status.code
}
