import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusTestSupport

/// The attacks that need to kill, start or hold processes: a tampered config, a second
/// instance, writes while nats-server restarts.
extension AttackSuiteTests {
    /// A node with a member `bob` connected and echoing through his own inbox.
    final class ProcessNode: @unchecked Sendable {
        let serve: ServeFixture
        let api: APIClient
        let label: String
        let root = UserKeyPair(), bob = UserKeyPair()

        /// - Parameter runs: the nats-server binary `natsServer` runs in the end (when it is a wrapper).
        init(natsServer: String, runs: String? = nil) async throws {
            serve = try await ServeFixture(natsServer: natsServer)
            label = "sqlite · \(await NatsServerVersionLabel.of(runs ?? natsServer))"
            try await serve.waitUntilReady(timeout: .seconds(40))
            for (handle, pair, role) in [("root", root, "admin"), ("bob", bob, "member")] {
                let r = try await CLI.run(["user", "add", "--handle", handle, "--sign-pub", pair.signPub.hex, "--role", role, "--db", serve.db])
                guard r.status == 0 else { throw FixtureFailure("user add \(handle): \(r.stderr)") }
            }
            api = APIClient(serve)
            guard await eventually(timeout: .seconds(10), { FreePort.accepts(serve.httpPort) }) else {
                throw FixtureFailure("nothing listens on the control plane port:\n\(serve.log)")
            }
        }

        /// bob's connection, with a subscription on his own inbox. (`user add --db` returns before
        /// the node has applied the change, so the first attempts may be refused.)
        func bobConnection() async throws -> (NatsConnection, AsyncRecorder<NatsMessage>) {
            var connection: NatsConnection?
            _ = await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                connection = try? await serve.connect(bob, handle: "bob")
                return connection != nil
            }
            let c: NatsConnection
            if let connection { c = connection } else { c = try await serve.connect(bob, handle: "bob") }
            let sub = try await DataPlaneTests.record(c, "_INBOX.bob.echo")
            try await c.flush()
            return (c, sub)
        }

        /// Whether bob's connection still works: a message to his own inbox comes back.
        static func stillAlive(_ bob: NatsConnection, _ echo: AsyncRecorder<NatsMessage>) async -> Bool {
            try? await bob.publish("_INBOX.bob.echo", payload: Array("still".utf8))
            return await echo.contains(within: .seconds(5)) { $0.string == "still" } && !bob.isClosed
        }

        /// Whether a connection as `pair` (nil: no nkey) with the client certificate is refused, and how.
        func refused(_ pair: UserKeyPair?, handle: String?, tls: Bool = true) async -> (Bool, String) {
            do {
                var o = try serve.options(pair, handle: handle)
                if !tls {
                    o.tls = nil
                    o.servers = ["nats://127.0.0.1:\(serve.natsPort)"]
                }
                let c = try await NatsConnection.connect(o)
                await c.close()
                return (false, "CONNECTED")
            } catch let e as NatsError {
                return (true, e.isAuthFailed ? "refused (authorization violation)" : "refused (\(e.detail.prefix(60)))")
            } catch {
                return (true, "refused (\(error))")
            }
        }

        /// Waits for the nats-server child to be replaced (a new pid that is alive).
        func waitForNewChild(after old: Int32, timeout: Duration = .seconds(30)) async -> Bool {
            await eventually(timeout: timeout, every: .milliseconds(50)) {
                guard let pid = serve.liveChildPID, pid != old else { return false }
                return FreePort.accepts(serve.natsPort)
            }
        }

        deinit { let api = api; Task { await api.shutdown() } }
    }

    static func healthRow(_ h: (status: Int, body: [String: Any])) -> String {
        let problems = (h.body["problems"] as? [String]).map { $0.isEmpty ? "" : " problems: \($0.joined(separator: "; ").prefix(80))" } ?? ""
        return "\(h.status) acl:\((h.body["acl"] as? Bool).map { "\($0)" } ?? "?")\(problems)"
    }

    @Test("tampered config on disk: /healthz says so; a killed child restarts with the rendered ACL")
    func tamperedConfig() async throws {
        let node = try await ProcessNode(natsServer: NatsServerBinaries.debian)
        let rows = RowList(world: node.label)
        let serve = node.serve
        let eve = UserKeyPair()

        // 1. a config without any authorization, written over the rendered one (again if
        // membershipd writes its own back before /healthz looks)
        let open = "listen: 127.0.0.1:\(serve.natsPort)\n"
        _ = try await node.bobConnection()
        var health = (status: 0, body: [String: Any]())
        var rewrites = 0
        _ = await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            if (try? String(contentsOfFile: serve.configFile, encoding: .utf8)) != open {
                try? open.write(toFile: serve.configFile, atomically: true, encoding: .utf8)
                rewrites += 1
            }
            health = await serve.healthz(node.api)
            return health.status == 503
        }
        rows.add(
            "config on disk replaced by one without authorization: /healthz", expected: "503 acl:false, with problems",
            got: Self.healthRow(health) + (rewrites > 1 ? " (file written \(rewrites) times: membershipd restored it)" : ""),
            ok: health.status == 503 && health.body["acl"] as? Bool == false && !((health.body["problems"] as? [String]) ?? []).isEmpty)

        let old = try #require(serve.liveChildPID)
        kill(old, SIGKILL)
        let restarted = await node.waitForNewChild(after: old)
        rows.add(
            "tampered config + child SIGKILLed: nats-server restarted", expected: "restarted", got: restarted ? "restarted" : "NOT restarted",
            ok: restarted)
        let (anonRefused, anonGot) = await node.refused(nil, handle: nil)
        rows.add("after the restart: a client with a certificate but no nkey", expected: "refused", got: anonGot, ok: anonRefused)
        let (plainRefused, plainGot) = await node.refused(nil, handle: nil, tls: false)
        rows.add("after the restart: a plain-TCP client without TLS or nkey (open bus?)", expected: "refused", got: plainGot, ok: plainRefused)
        let (eveRefused, eveGot) = await node.refused(eve, handle: "eve")
        rows.add("after the restart: an unknown nkey", expected: "refused (authorization violation)", got: eveGot, ok: eveRefused)
        let onDisk = (try? String(contentsOfFile: serve.configFile, encoding: .utf8)) ?? ""
        let reRendered = onDisk.contains("accounts {") && onDisk.contains(node.bob.nkey)
        rows.add(
            "after the restart: the config on disk", expected: "re-rendered from the allowlist",
            got: reRendered ? "re-rendered from the allowlist" : "NOT the rendered config", ok: reRendered)
        _ = await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            health = await serve.healthz(node.api)
            return health.status == 200
        }
        rows.add(
            "after the restart: /healthz", expected: "200 acl:true", got: Self.healthRow(health),
            ok: health.status == 200 && health.body["acl"] as? Bool == true)
        let bobBack = await node.refused(node.bob, handle: "bob")
        rows.add("after the restart: bob (control)", expected: "connects", got: bobBack.0 ? bobBack.1 : "connects", ok: !bobBack.0)

        // 2. the rendered config plus an extra user with every right, then the server is told to reload
        let (bob, echo) = try await node.bobConnection()
        let current = try String(contentsOfFile: serve.configFile, encoding: .utf8)
        let injected = current.replacingOccurrences(
            of: "    users = [\n      # bob", with: "    users = [\n      { nkey: \"\(eve.nkey)\" }\n      # bob")
        try injected.write(toFile: serve.configFile, atomically: true, encoding: .utf8)
        _ = await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            health = await serve.healthz(node.api)
            return health.status == 503
        }
        rows.add(
            "config on disk given an extra nkey: /healthz", expected: "503 acl:false", got: Self.healthRow(health),
            ok: injected != current && health.status == 503 && health.body["acl"] as? Bool == false)
        // an allowlist change re-renders and reloads: the injected user must be gone
        let cat = UserKeyPair()
        let added = try await CLI.run(["user", "add", "--handle", "cat", "--sign-pub", cat.signPub.hex, "--role", "member", "--db", serve.db])
        let (eveAfter, eveAfterGot) = await node.refused(eve, handle: "eve")
        rows.add(
            "injected nkey after the next ACL change (CLI user add, exit \(added.status))", expected: "refused (authorization violation)",
            got: eveAfterGot, ok: eveAfter)
        _ = await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            health = await serve.healthz(node.api)
            return health.status == 200
        }
        rows.add("after the re-render: /healthz", expected: "200 acl:true", got: Self.healthRow(health), ok: health.status == 200)
        let alive = await ProcessNode.stillAlive(bob, echo)
        rows.add("bob's connection through all of it", expected: "alive", got: alive ? "alive" : "DROPPED", ok: alive)
        await bob.close()
        try await AttackReport.shared.add(rows.rows)
    }

    @Test("a second membershipd in the same directory (or on the same ports) exits 1 and disturbs nothing")
    func secondInstance() async throws {
        let node = try await ProcessNode(natsServer: NatsServerBinaries.debian)
        let rows = RowList(world: node.label)
        let serve = node.serve
        let (bob, echo) = try await node.bobConnection()
        let child = try #require(serve.liveChildPID)
        let config = try String(contentsOfFile: serve.configFile, encoding: .utf8)
        let firstPID = serve.child.pid
        let attempts: [(String, [String], URL)] = [
            ("same directory, same ports", ["--nats-port", "\(serve.natsPort)", "--http-port", "\(serve.httpPort)"], serve.dir.url),
            ("same directory, other ports", ["--nats-port", "\(FreePort.next())", "--http-port", "\(FreePort.next())"], serve.dir.url),
        ]
        for (name, ports, cwd) in attempts {
            let r = await BoundedRun.run(
                CLI.executable, ["serve", "--nats-server", NatsServerBinaries.debian] + ports,
                cwd: cwd, timeout: .seconds(30))
            let line = r.stderr.split(separator: "\n").last(where: { $0.contains("error") }).map(String.init) ?? r.stderr.suffix(100).description
            rows.add(
                "second serve, \(name)", expected: "exit 1 naming the running one (pid)",
                got: r.timedOut ? "STILL RUNNING after 30 s" : "exit \(r.status ?? -1): \(line.prefix(110))",
                ok: r.status == 1 && line.contains("\(firstPID)"))
        }
        // Another directory on the same ports fails on a port. Run it under a shell in a process
        // group of its own (setsid), as a start script would: failing must signal nothing but
        // itself (the shell must live to print the exit status). Several tries: the failure path
        // depends on timing.
        var outcomes: [String] = []
        for _ in 0..<4 {
            let otherDir = TempDirectory("unibus-test-second")
            let script = """
                "$0" serve --nats-server \(NatsServerBinaries.debian) --nats-port \(serve.natsPort) --http-port \(serve.httpPort) 2>/dev/null
                echo "serve-exit=$?" >&2
                """
            let r = await BoundedRun.run(
                URL(fileURLWithPath: "/usr/bin/setsid"), ["--wait", "/bin/sh", "-c", script, CLI.executable.path], cwd: otherDir.url,
                timeout: .seconds(30))
            let exit = r.stderr.split(separator: "\n").first(where: { $0.hasPrefix("serve-exit=") }).map { String($0.dropFirst(11)) }
            outcomes.append(exit.map { "exit \($0)" } ?? "SHELL KILLED (its process group was signalled; setsid status \(r.status ?? -1))")
        }
        let distinct = Array(Set(outcomes)).sorted()
        rows.add(
            "second serve, another directory, same ports (4 tries, each in its own process group with a shell)",
            expected: "exit 1, the shell that started it untouched", got: distinct.joined(separator: "; "),
            ok: distinct == ["exit 1"])
        let sameChild = serve.liveChildPID == child
        let sameConfig = (try? String(contentsOfFile: serve.configFile, encoding: .utf8)) == config
        rows.add(
            "after the attempts: the first node's nats-server and config", expected: "same pid, same config",
            got: "\(sameChild ? "same pid" : "CHILD REPLACED OR KILLED"), \(sameConfig ? "same config" : "CONFIG REWRITTEN")",
            ok: sameChild && sameConfig)
        let alive = await ProcessNode.stillAlive(bob, echo)
        rows.add("after the attempts: the first node's client", expected: "still connected", got: alive ? "still connected" : "DROPPED", ok: alive)
        let health = await serve.healthz(node.api)
        rows.add("after the attempts: the first node's /healthz", expected: "200", got: Self.healthRow(health), ok: health.status == 200)
        await bob.close()
        try await AttackReport.shared.add(rows.rows)
    }

    @Test("/healthz is 503 while the SQLite store cannot be written, 200 again after")
    func unwritableStore() async throws {
        let node = try await ProcessNode(natsServer: NatsServerBinaries.debian)
        let rows = RowList(world: node.label)
        // another process holds SQLite's write lock (as a stuck writer or a full disk would stop writes)
        let holding = LogBuffer()
        let holder = try await ChildProcess.start(
            Command(
                "/usr/bin/env",
                [
                    TestPython.executable, "-c",
                    """
                    import sqlite3, sys, time
                    db = sqlite3.connect(sys.argv[1], isolation_level=None)
                    db.execute("BEGIN EXCLUSIVE")
                    db.execute("INSERT INTO nonces VALUES ('held-by-attacker-0001', 0)")
                    print("held", flush=True)
                    time.sleep(600)
                    """,
                    node.serve.db,
                ]), stop: .init(signal: SIGTERM, grace: .seconds(5)), onOutputLine: holding.append)
        defer { holder.requestStop() }
        guard await eventually(timeout: .seconds(10), { holding.text.contains("held") }) else {
            throw FixtureFailure("the lock holder never took the write lock")
        }
        var health = (status: 0, body: [String: Any]())
        _ = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            health = await node.serve.healthz(node.api)
            return health.status == 503
        }
        rows.add(
            "/healthz while another process holds the SQLite write lock", expected: "503 with the reason", got: Self.healthRow(health),
            ok: health.status == 503)
        let write = try? await node.api.send(
            "POST", "/v1/rooms", body: Data(#"{"id":"locked"}"#.utf8), key: node.root)
        rows.add(
            "a signed write while the store cannot be written", expected: "503 unavailable",
            got: write.map { "\($0.status) \($0.code ?? "")" } ?? "no answer", ok: write?.status == 503)
        await holder.stop()  // the transaction dies with it: rolled back
        _ = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            health = await node.serve.healthz(node.api)
            return health.status == 200
        }
        rows.add("/healthz once the lock is released", expected: "200", got: Self.healthRow(health), ok: health.status == 200)
        try await AttackReport.shared.add(rows.rows)
    }

    @Test("writes while nats-server is down or restarting are 503, never 2xx")
    func writesDuringRestart() async throws {
        // nats-server behind a wrapper that holds a restart while a file exists
        let bin = TempDirectory("unibus-test-bin")
        let hold = bin.file("hold")
        let wrapper = bin.file("nats-server")
        let script = """
            #!/bin/sh
            case " $* " in *" -t "*|*" --version "*) exec \(NatsServerBinaries.debian) "$@";; esac
            while [ -e '\(hold)' ]; do sleep 0.05; done
            exec \(NatsServerBinaries.debian) "$@"

            """
        FileManager.default.createFile(atPath: wrapper, contents: Data(script.utf8), attributes: [.posixPermissions: 0o700])
        let node = try await ProcessNode(natsServer: wrapper, runs: NatsServerBinaries.debian)
        let serve = node.serve
        let rows = RowList(world: node.label)
        let api = node.api
        let created = try await api.send("POST", "/v1/rooms", body: Data(#"{"id":"r1"}"#.utf8), key: node.root)
        #expect(created.status == 201, "\(created)")
        let cat = UserKeyPair(), dan = UserKeyPair()

        FileManager.default.createFile(atPath: hold, contents: Data())
        let old = try #require(serve.liveChildPID)
        kill(old, SIGKILL)
        _ = await eventually(timeout: .seconds(10)) { kill(old, 0) != 0 }
        try await Task.sleep(for: .milliseconds(300))
        let writes: [(String, String, String, String?)] = [
            ("POST /v1/users", "POST", "/v1/users", #"{"sign_pub":"\#(cat.signPub.hex)","handle":"cat","role":"member"}"#),
            ("PUT member", "PUT", "/v1/rooms/r1/members/\(node.bob.signPub.hex)", #"{"role":"member"}"#),
            ("POST /v1/rooms", "POST", "/v1/rooms", #"{"id":"r2"}"#),
            ("PUT room key", "PUT", "/v1/rooms/r1/keys/\(node.root.signPub.hex)", #"{"epoch":1,"wrapped":"AAAA"}"#),
            ("POST revoke", "POST", "/v1/users/\(node.bob.signPub.hex)/revoke", nil),
        ]
        for (name, method, path, body) in writes {
            let a = try? await api.send(method, path, body: body.map { Data($0.utf8) }, key: node.root)
            let got = a.map { "\($0.status) \($0.code ?? "")" } ?? "no answer"
            if name == "PUT room key" {
                // opaque to the data plane: nothing for nats-server to apply, SQLite confirms the write
                rows.add(
                    "\(name) while nats-server is down (no ACL change)", expected: "200 (or 503)", got: got,
                    ok: a?.status == 200 || a?.status == 503)
                continue
            }
            rows.add("\(name) while nats-server is down", expected: "503 unavailable", got: got, ok: a?.status == 503 && a?.code == "unavailable")
        }
        let health = await serve.healthz(api)
        rows.add("/healthz while nats-server is down", expected: "503", got: Self.healthRow(health), ok: health.status == 503)
        let stillDown = !FreePort.accepts(serve.natsPort)
        rows.add("the server was down for all of the above", expected: "down", got: stillDown ? "down" : "UP", ok: stillDown)

        try FileManager.default.removeItem(atPath: hold)
        let back = await eventually(timeout: .seconds(60), every: .milliseconds(250)) { await serve.healthz(api).status == 200 }
        let after = try await api.send(
            "POST", "/v1/users", body: Data(#"{"sign_pub":"\#(dan.signPub.hex)","handle":"dan","role":"member"}"#.utf8), key: node.root)
        var connects = false
        if after.status == 201, let c = try? await serve.connect(dan, handle: "dan") {
            connects = true
            await c.close()
        }
        rows.add(
            "after the restart: POST /v1/users, then the new user connects at once", expected: "201, connects",
            got: "\(back ? "" : "NEVER HEALTHY; ")\(after.status), \(connects ? "connects" : "REFUSED")", ok: after.status == 201 && connects)
        try await AttackReport.shared.add(rows.rows)
    }
}
