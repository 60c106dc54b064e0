import Foundation

/// A real nats-server child on 127.0.0.1, for tests: a config file in a temp dir, a free port,
/// stderr drained (nats-server blocks once 64 KB of unread log fill the pipe), and always stopped
/// with SIGINT (its clean exit; SIGTERM exits 1) in ``stop()`` or `deinit`.
///
/// If the test process itself is SIGKILLed the server keeps running on its random port
/// (Foundation's `Process` has no parent-death signal).
final class NatsServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from start/stop; the log is behind a lock.
    let port: Int
    let configFile: String
    private let process = Process()
    private let log = Locked(Data())

    /// `nats-server` from PATH, else Debian's /usr/sbin/nats-server (not on a non-root PATH).
    static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/nats-server" } + ["/usr/sbin/nats-server"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FixtureError("nats-server not found on PATH or at /usr/sbin/nats-server; apt-get install nats-server")
        }
        return found
    }

    /// Writes `listen: 127.0.0.1:<port>` plus `config` to `<directory>/<name>.conf`, starts the
    /// server and waits until its port accepts TCP connections.
    /// - Parameter port: Reuse a port (to restart a server); a free one by default.
    init(config: String, in directory: TestDirectory, name: String = "nats-server", port: Int? = nil) throws {
        self.port = try port ?? LoopbackPort.free()
        configFile = directory.path("\(name).conf")
        let text = "listen: 127.0.0.1:\(self.port)\n" + config
        try Data(text.utf8).write(to: URL(fileURLWithPath: configFile))

        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = ["-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        stderr.fileHandleForReading.readabilityHandler = { [log] handle in
            let chunk = handle.availableData
            log.withLock { $0.append(chunk) }
        }
        try process.run()
        do {
            try waitUntilReady(timeout: .seconds(5))
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// `nats://127.0.0.1:<port>`.
    var url: String { "nats://127.0.0.1:\(port)" }

    /// What the server logged to stderr so far.
    var logText: String { log.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Whether the server process is still running.
    var isRunning: Bool { process.isRunning }

    private func waitUntilReady(timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw FixtureError("nats-server exited with \(process.terminationStatus):\n\(logText)")
            }
            if LoopbackPort.accepts(port) { return }
            usleep(5_000)
        }
        throw FixtureError("nats-server did not accept connections on \(port) within \(timeout):\n\(logText)")
    }

    /// Sends SIGINT and waits up to 5 s for the exit, then SIGKILLs. Idempotent.
    func stop() {
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
