public import Foundation

/// A real nats-server child on 127.0.0.1, for tests: `listen: 127.0.0.1:<port>` plus the config
/// text a test passes in, written to `<directory>/unibus-test-<name>.conf` (so scripts/test.sh's
/// leak check finds a server that outlived the suite), stderr drained (nats-server blocks once
/// 64 KB of unread log fill the pipe) and kept for failure messages, and always stopped with
/// SIGINT (its clean exit; SIGTERM exits 1), then SIGKILL, in ``stop()`` or `deinit`.
///
/// Ready means *this* server logged `Server is ready` and its port accepts TCP: a TCP connect
/// alone can reach another process that took the "free" port first (other suites start servers
/// too). If a free port was taken meanwhile (`address already in use`), the server exits and a
/// fresh port is tried (3 attempts in all).
///
/// If the test process itself is SIGKILLed the server keeps running on its random port
/// (Foundation's `Process` has no parent-death signal).
public final class NatsServer: @unchecked Sendable {
    // @unchecked: `process` is only touched from init and stop; the log is behind a lock.
    /// The label the config file is named after (also used in failure messages).
    public let name: String
    /// The client port on 127.0.0.1.
    public let port: Int
    /// The config file the server was started with.
    public let configFile: String
    private let process: Process
    private let buffer: LogBuffer

    /// Writes the config, starts the server and waits until it is ready.
    /// - Parameters:
    ///   - config: nats-server config text, appended after the `listen` line.
    ///   - directory: where the config file goes.
    ///   - name: names the config file `unibus-test-<name>.conf`.
    ///   - port: reuse a port (e.g. to restart a server); a free one, retried if taken, by default.
    ///   - executable: the binary; ``NatsServerBinaries/forTests()`` by default.
    ///   - timeout: how long to wait for the server to become ready.
    public init(
        config: String = "", in directory: TempDirectory, name: String = "nats-server", port: Int? = nil,
        executable: String? = nil, timeout: Duration = .seconds(10)
    ) throws {
        self.name = name
        configFile = directory.file("unibus-test-\(name).conf")
        let executable = try executable ?? NatsServerBinaries.forTests()
        var attempt = 1
        while true {
            let chosen = port ?? FreePort.next()
            try Data(("listen: 127.0.0.1:\(chosen)\n" + config).utf8).write(to: URL(fileURLWithPath: configFile))
            let (process, buffer) = try Self.launch(executable, configFile: configFile)
            do {
                try Self.waitUntilReady(process, log: buffer, name: name, port: chosen, timeout: timeout)
                self.port = chosen
                self.process = process
                self.buffer = buffer
                return
            } catch let error as FixtureError {
                Self.terminate(process)
                guard error.portTaken, port == nil, attempt < 3 else { throw error }
                attempt += 1
            }
        }
    }

    deinit { stop() }

    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(port)" }

    /// What the server logged to stderr so far.
    public var log: String { buffer.text }

    /// Whether the server process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Sends SIGINT and waits up to 5 s for the exit, then SIGKILLs. Idempotent.
    public func stop() { Self.terminate(process) }

    private static func launch(_ executable: String, configFile: String) throws -> (Process, LogBuffer) {
        let process = Process()
        let buffer = LogBuffer()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        stderr.fileHandleForReading.readabilityHandler = { handle in buffer.append(handle.availableData) }
        try process.run()
        return (process, buffer)
    }

    private static func waitUntilReady(
        _ process: Process, log: LogBuffer, name: String, port: Int, timeout: Duration
    ) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw FixtureError("nats-server \(name) exited with \(process.terminationStatus):\n\(log.text)")
            }
            if log.text.contains("Server is ready") && FreePort.accepts(port) { return }
            usleep(5_000)
        }
        throw FixtureError("nats-server \(name) was not ready on port \(port) within \(timeout):\n\(log.text)")
    }

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

/// stderr collected from the pipe's handler thread.
private final class LogBuffer: @unchecked Sendable {
    // @unchecked: `data` is only touched under `lock`.
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

/// A test-fixture failure with a message that says what to fix.
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong (and, for a server, its log).
    public let description: String

    /// - Parameter description: what went wrong.
    public init(_ description: String) { self.description = description }

    /// Whether a server exited because a port it was given is in use.
    public var portTaken: Bool { description.contains("address already in use") }
}
