import Foundation
import UnibusCore
import UnibusNats
import UnibusSupervisor

/// One "ACL reloaded: N active users (render X, reload Y)" line of membershipd's log.
struct AclReloadLine: Sendable {
    let users: Int
    /// Snapshot read + render, as membershipd measured it (seconds).
    let render: Double
    /// Write + `nats-server -t` + rename + SIGHUP until nats-server confirmed (seconds).
    let reload: Double

    init?(_ line: String) {
        guard let head = line.range(of: "ACL reloaded: ") else { return nil }
        let rest = line[head.upperBound...]
        // "ACL reloaded: generation G in force, N active users at P (render X, reload Y)" (the
        // engine's line); older builds logged "ACL reloaded: N active users (…)".
        let count = rest.range(of: " active users").map { String(rest[..<$0.lowerBound].reversed().prefix { $0.isNumber }.reversed()) }
        guard let users = count.flatMap({ Int($0) }),
            let render = Self.seconds(after: "render ", in: rest),
            let reload = Self.seconds(after: "reload ", in: rest)
        else { return nil }
        self.users = users
        self.render = render
        self.reload = reload
    }

    /// `Duration`'s description: "0.012345 seconds" (possibly "1e-05 seconds").
    private static func seconds(after key: String, in text: Substring) -> Double? {
        guard let r = text.range(of: key) else { return nil }
        let value = text[r.upperBound...].prefix { !$0.isWhitespace && $0 != "," && $0 != ")" }
        return Double(value)
    }
}

/// A real `membershipd serve` in a temp working directory with its real nats-server child, on
/// free loopback ports, in enforce mode (nkey + client certificate + ACL) with the development
/// TLS material it makes itself under `local_files/tls`.
final class UnibusNode: @unchecked Sendable {
    let membershipd: String
    let natsServer: String
    let dir: URL
    let natsPort = FreePort.next()
    let httpPort = FreePort.next()
    let child: BenchProcess

    var localFiles: String { dir.appendingPathComponent("local_files").path }
    var db: String { "\(localFiles)/unibus.db" }
    var tlsDir: String { "\(localFiles)/tls" }
    var configFile: String { "\(localFiles)/nats-server.conf" }
    var url: String { "tls://127.0.0.1:\(natsPort)" }

    init(membershipd: String, natsServer: String, label: String, extraArguments: [String] = []) throws {
        self.membershipd = membershipd
        self.natsServer = natsServer
        dir = try makeTempDirectory(label)
        try FileManager.default.createDirectory(
            atPath: dir.appendingPathComponent("local_files").path,
            withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "UNIBUS_NATS_MONITOR")
        env.removeValue(forKey: "UNIBUS_NATS_DEBUG")
        env["LOG_LEVEL"] = "info"
        child = BenchProcess(
            name: "membershipd serve", executable: membershipd,
            arguments: [
                "serve", "--nats-port", "\(natsPort)", "--http-port", "\(httpPort)",
                "--cluster-port", "\(FreePort.next())", "--nats-server", natsServer,
            ] + extraArguments,
            directory: dir, environment: env, logFile: dir.appendingPathComponent("membershipd.log").path)
    }

    /// Starts serve and waits for "membershipd ready".
    func start(timeout: Duration = .seconds(120)) async throws {
        try await child.start()
        guard await child.waitForLine(containing: "membershipd ready", timeout: timeout) != nil else {
            throw BenchError("membershipd serve did not become ready:\n\(child.tail())")
        }
    }

    /// Runs `membershipd <arguments>` (the CLI, in another process, as an operator would).
    func cli(_ arguments: [String]) async throws {
        let r = try await runCommand(membershipd, arguments)
        guard r.status == 0 else { throw BenchError("membershipd \(arguments.joined(separator: " ")) failed: \(r.stderr)") }
    }

    /// membershipd's nats-server child (from the pid file it writes).
    var natsServerPID: Int32? {
        (try? String(contentsOfFile: "\(localFiles)/nats-server.pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Index of the next log line; pass it to ``waitForReload(after:containing:timeout:)``.
    var logMark: Int { child.lineCount }

    /// Waits for the first "ACL reloaded" line after `mark` and, if given, for the live config to
    /// contain every needle. Returns the parsed line.
    @discardableResult
    func waitForReload(after mark: Int, containing needles: [String] = [], timeout: Duration = .seconds(30)) async throws -> AclReloadLine {
        guard let index = await child.waitForLine(containing: "ACL reloaded", from: mark, timeout: timeout),
            let line = child.lines(from: index).first, let parsed = AclReloadLine(line)
        else { throw BenchError("no ACL reload logged in \(timeout):\n\(child.tail())") }
        if !needles.isEmpty {
            let text = (try? String(contentsOfFile: configFile, encoding: .utf8)) ?? ""
            guard needles.allSatisfy(text.contains) else { throw BenchError("the live config does not name \(needles)") }
        }
        return parsed
    }

    /// Waits until the live config names every needle, then until the reload that installed it
    /// is logged and no further reload follows for 300 ms.
    func waitForConfig(containing needles: [String], timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = (try? String(contentsOfFile: configFile, encoding: .utf8)) ?? ""
            if needles.allSatisfy(text.contains) { break }
            guard ContinuousClock.now < deadline else { throw BenchError("the ACL never named \(needles):\n\(child.tail())") }
            try await Task.sleep(for: .milliseconds(10))
        }
        var last = child.count(containing: "ACL reloaded")
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            let now = child.count(containing: "ACL reloaded")
            if now == last { return }
            last = now
        }
    }

    func stop() {
        let status = child.stop(signal: SIGTERM, grace: 15)
        if status != 0 { Log.info("membershipd serve exited with status \(status)") }
    }
}

/// A plain nats-server: the config membershipd would render, minus the `authorization` block
/// (same TLS with `verify: true`, same JetStream and limits), or a given config text.
final class RawNatsNode: @unchecked Sendable {
    let dir: URL
    let port = FreePort.next()
    let configFile: String
    let child: BenchProcess
    var url: String { "tls://127.0.0.1:\(port)" }

    /// The unibus config without authorization, on its own port, pid file and store directory.
    convenience init(executable: NatsServerExecutable, tlsDir: String, label: String) throws {
        try self.init(executable: executable, label: label) { dir, port in
            let settings = NatsServerSettings(
                serverName: "bench-raw", host: "127.0.0.1", clientPort: port,
                tls: .init(cert: "\(tlsDir)/server.crt", key: "\(tlsDir)/server.key", ca: "\(tlsDir)/ca.crt"),
                jetStreamDirectory: dir.appendingPathComponent("jetstream").path,
                pidFile: dir.appendingPathComponent("nats-server.pid").path,
                log: NatsLogOptions(environment: [:]), version: executable.version)
            return try NatsServerConfigRenderer.render(settings, authorization: nil)
        }
    }

    /// A copy of another node's config (e.g. membershipd's with 10,000 users) moved to its own
    /// port, pid file and store directory.
    convenience init(executable: NatsServerExecutable, copying text: String, label: String) throws {
        try self.init(executable: executable, label: label) { dir, port in
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("listen:") { return "listen: \"127.0.0.1:\(port)\"" }
                if trimmed.hasPrefix("server_name:") { return "server_name: \"bench-copy\"" }
                if trimmed.hasPrefix("pid_file:") { return "pid_file: \"\(dir.appendingPathComponent("nats-server.pid").path)\"" }
                if trimmed.hasPrefix("store_dir:") { return "  store_dir: \"\(dir.appendingPathComponent("jetstream").path)\"" }
                return String(line)
            }.joined(separator: "\n")
        }
    }

    private init(executable: NatsServerExecutable, label: String, config: (URL, Int) throws -> String) throws {
        dir = try makeTempDirectory(label)
        configFile = dir.appendingPathComponent("nats-server.conf").path
        let text = try config(dir, port)
        guard FileManager.default.createFile(atPath: configFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw BenchError("cannot write \(configFile)")
        }
        child = BenchProcess(
            name: "nats-server (\(label))", executable: executable.path, arguments: ["-c", configFile],
            logFile: dir.appendingPathComponent("nats-server.log").path)
    }

    func start() async throws {
        try await child.start()
        guard await child.waitForLine(containing: "Server is ready", timeout: .seconds(60)) != nil else {
            throw BenchError("nats-server did not become ready:\n\(child.tail())")
        }
    }

    /// SIGHUP, then waits for "Reloaded server configuration"; returns how long the reload took.
    func reload() async throws -> Duration {
        let mark = child.lineCount
        let start = ContinuousClock.now
        kill(child.pid, SIGHUP)
        guard await child.waitForLine(containing: "Reloaded server configuration", from: mark, timeout: .seconds(30)) != nil else {
            throw BenchError("nats-server did not confirm the reload:\n\(child.tail())")
        }
        return ContinuousClock.now - start
    }

    /// SIGINT: nats-server exits 0.
    func stop() { child.stop(signal: SIGINT, grace: 10) }
}
