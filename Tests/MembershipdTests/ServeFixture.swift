import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusStoreSQLite
import UnibusSupervisor
import UnibusTestSupport

/// A real `membershipd serve` process in a temp working directory, on free loopback ports, with
/// its real nats-server child. Always stopped (SIGTERM) when released.
final class ServeFixture: Sendable {
    let dir: TempDirectory
    let natsPort = FreePort.next()
    let httpPort = FreePort.next()
    let natsServer: String
    let child: ChildProcess
    private let logBuffer: LogBuffer

    /// Starts `membershipd serve` (a `ChildProcess`, so it dies with the test runner; SIGTERM,
    /// SIGKILL after 15 s, to stop it).
    /// - Parameter directory: the working directory (a fresh one by default), e.g. to start on an existing data directory.
    init(natsServer: String, arguments: [String] = [], environment: [String: String] = [:], directory: TempDirectory? = nil) async throws {
        self.natsServer = natsServer
        let dir = directory ?? TempDirectory("unibus-test-serve")
        self.dir = dir
        let buffer = LogBuffer()
        logBuffer = buffer
        var changes: [String: String?] = ["UNIBUS_NATS_MONITOR": nil, "UNIBUS_NATS_DEBUG": nil]
        for (key, value) in environment { changes[key] = value }
        let command = Command(
            CLI.executable.path,
            [
                "serve", "--nats-port", "\(natsPort)", "--http-port", "\(httpPort)", "--nats-server", natsServer,
            ] + arguments, workingDirectory: dir.path, environment: .inheritUpdating(changes))
        child = try await ChildProcess.start(command, stop: .init(signal: SIGTERM, grace: .seconds(15)), onLine: buffer.append)
    }

    var log: String { logBuffer.text }
    var db: String { dir.file("local_files/unibus.db") }
    var tls: String { dir.file("local_files/tls") }
    var url: String { "tls://127.0.0.1:\(natsPort)" }

    /// Waits for "membershipd ready" in the log.
    func waitUntilReady(timeout: Duration = .seconds(20)) async throws {
        let ok = await eventually(timeout: timeout) { log.contains("membershipd ready") || child.hasExited }
        guard ok, !child.hasExited else { throw FixtureFailure("membershipd did not become ready:\n\(log)") }
    }

    /// Whether membershipd still runs.
    var isRunning: Bool { !child.hasExited }

    /// Counts log lines containing `text`.
    func count(_ text: String) -> Int { logBuffer.count(text) }

    /// Adds a user through the CLI, as an operator would.
    func addUser(_ handle: String, _ n: Int, role: Role = .member) async throws -> UserKeyPair {
        let pair = Fixture.keyPair(n)
        let r = try await CLI.run(["user", "add", "--handle", handle, "--sign-pub", pair.signPub.hex, "--role", role.rawValue, "--db", db])
        guard r.status == 0 else { throw FixtureFailure("user add failed: \(r.stderr)") }
        return pair
    }

    /// The store, opened from the test process (another connection, like another process).
    func store() throws -> SQLiteAllowlistStore { try SQLiteAllowlistStore(path: db, create: false) }

    /// Connection options for a user with the operator client certificate made by serve.
    func options(_ pair: UserKeyPair?, handle: String?, cert: String = "client", ca: String? = nil) throws -> NatsConnectOptions {
        var o = NatsConnectOptions(servers: [url], name: "unibus-test", timeout: .seconds(3))
        o.tls = NatsTLSFiles(caFile: ca ?? "\(tls)/ca.crt", certFile: "\(tls)/\(cert).crt", keyFile: "\(tls)/\(cert).key")
        if cert == "none" { o.tls = NatsTLSFiles(caFile: ca ?? "\(tls)/ca.crt") }
        if let pair { o.nkey = NatsNKeyCredentials(publicKey: pair.nkey, seed: try NatsNKeySeed(pair.seed)) }
        if let handle { o.customInboxPrefix = Subjects.inboxPrefix(try Handle(handle)) }
        o.allowReconnect = false
        return o
    }

    func connect(_ pair: UserKeyPair, handle: String) async throws -> NatsConnection {
        try await NatsConnection.connect(try options(pair, handle: handle))
    }

    /// The nats-server child's pid (from its pid file).
    var childPID: Int32? {
        (try? String(contentsOfFile: dir.file("local_files/nats-server.pid"), encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// SIGTERM, then wait (SIGKILL after 15 s); returns the exit code.
    @discardableResult
    func stop() async -> Int32 { await child.stop().code }

    /// Starts ``stop()`` without waiting (for `defer`).
    func requestStop() { child.requestStop() }

    deinit {
        child.requestStop()
        if let pid = childPID, kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
