import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreSQLite
import UnibusSupervisor
import UnibusTestSupport

/// A real `membershipd serve` process in a temp working directory, on free loopback ports, with
/// its real nats-server child. Always stopped (SIGTERM) when released.
final class ServeFixture: @unchecked Sendable {
    let dir: TempDirectory
    let natsPort = FreePort.next()
    let httpPort = FreePort.next()
    let natsServer: String
    let process = Process()
    private let logBuffer = LogBuffer()

    /// - Parameter directory: the working directory (a fresh one by default), e.g. to start on an existing data directory.
    init(natsServer: String, arguments: [String] = [], environment: [String: String] = [:], directory: TempDirectory? = nil) throws {
        self.natsServer = natsServer
        dir = directory ?? TempDirectory("unibus-test-serve")
        // Under `setpriv --pdeathsig KILL`, spawned from a thread that lives as long as the test
        // process: if the runner dies or exits with a fixture still alive, membershipd (and so
        // its nats-server) goes with it.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments =
            [
                "--pdeathsig", "KILL", "--", CLI.executable.path, "serve", "--nats-port", "\(natsPort)", "--http-port", "\(httpPort)",
                "--nats-server", natsServer,
            ] + arguments
        process.currentDirectoryURL = dir.url
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "UNIBUS_NATS_MONITOR")
        env.removeValue(forKey: "UNIBUS_NATS_DEBUG")
        process.environment = env.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try SpawnThread.shared.run { try self.process.run() }
        logBuffer.drain(err.fileHandleForReading)
    }

    var log: String { logBuffer.text }
    var db: String { dir.file("local_files/unibus.db") }
    var tls: String { dir.file("local_files/tls") }
    var url: String { "tls://127.0.0.1:\(natsPort)" }

    /// Waits for "membershipd ready" in the log.
    func waitUntilReady(timeout: Duration = .seconds(20)) async throws {
        let ok = await eventually(timeout: timeout) { log.contains("membershipd ready") || !process.isRunning }
        guard ok, process.isRunning else { throw FixtureFailure("membershipd did not become ready:\n\(log)") }
    }

    /// Counts log lines containing `text`.
    func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }

    /// Adds a user through the CLI, as an operator would.
    func addUser(_ handle: String, _ n: Int, role: Role = .member) throws -> UserKeyPair {
        let pair = Fixture.keyPair(n)
        let r = try CLI.run(["user", "add", "--handle", handle, "--sign-pub", pair.signPub.hex, "--role", role.rawValue, "--db", db])
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

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        stop()
        if let pid = childPID, kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

/// Collects a child's stderr on its own thread. The thread holds only this buffer, never the
/// fixture, so the fixture's deinit (which stops the child) still runs when a test drops it.
final class LogBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = ""

    var text: String { lock.withLock { collected } }

    func drain(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { collected += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
