public import Foundation
import Synchronization
public import UnibusProcess

/// A real nats-server child on 127.0.0.1, for tests: `listen: 127.0.0.1:<port>` plus the config
/// text a test passes in, written to `<directory>/unibus-test-<name>.conf` (so scripts/test.sh's
/// leak check finds a server that outlived the suite), its stderr kept for failure messages, and
/// always stopped: SIGINT (its clean exit; SIGTERM exits 1), SIGKILL after 5 s, in ``stop()``, or
/// by the teardown `deinit` starts. A `ChildProcess`, so it dies with the test runner.
///
/// Ready means *this* server logged `Server is ready` and its port accepts TCP: a TCP connect
/// alone can reach another process that took the "free" port first (other suites start servers
/// too). If a free port was taken meanwhile (`address already in use`), the server exits and a
/// fresh port is tried (3 attempts in all).
public final class NatsServer: Sendable {
    /// The label the config file is named after (also used in failure messages).
    public let name: String
    /// The client port on 127.0.0.1.
    public let port: Int
    /// The config file the server was started with.
    public let configFile: String
    private let child: ChildProcess
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
    ) async throws {
        self.name = name
        configFile = directory.file("unibus-test-\(name).conf")
        let executable = try executable ?? NatsServerBinaries.forTests()
        var attempt = 1
        while true {
            let chosen = port ?? FreePort.next()
            try Data(("listen: 127.0.0.1:\(chosen)\n" + config).utf8).write(to: URL(fileURLWithPath: configFile))
            let buffer = LogBuffer()
            let child = try await ChildProcess.start(
                Command(executable, ["-c", configFile]), stop: .init(signal: SIGINT, grace: .seconds(5)), onLine: buffer.append)
            do {
                try await Self.waitUntilReady(child, log: buffer, name: name, port: chosen, timeout: timeout)
                self.port = chosen
                self.child = child
                self.buffer = buffer
                return
            } catch let error as FixtureError {
                await child.stop()
                guard error.portTaken, port == nil, attempt < 3 else { throw error }
                attempt += 1
            }
        }
    }

    deinit { child.requestStop() }

    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(port)" }

    /// What the server logged to stderr so far.
    public var log: String { buffer.text }

    /// Whether the server process is still running.
    public var isRunning: Bool { !child.hasExited }

    /// The server's process id.
    public var pid: Int32 { child.pid }

    /// Sends SIGINT and waits for the exit, SIGKILL after 5 s. Idempotent.
    public func stop() async { await child.stop() }

    /// Starts ``stop()`` without waiting (for `defer`).
    public func requestStop() { child.requestStop() }

    private static func waitUntilReady(
        _ child: ChildProcess, log: LogBuffer, name: String, port: Int, timeout: Duration
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard !child.hasExited else {
                throw FixtureError("nats-server \(name) exited (\(await child.waitForExit())):\n\(log.text)")
            }
            if log.text.contains("Server is ready") && FreePort.accepts(port) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw FixtureError("nats-server \(name) was not ready on port \(port) within \(timeout):\n\(log.text)")
    }
}

/// A child's stderr lines, collected by its reading task.
public final class LogBuffer: Sendable {
    private let lines = Mutex("")

    public init() {}

    /// Appends one line.
    @Sendable public func append(_ line: String) { lines.withLock { $0 += line + "\n" } }

    /// Everything so far.
    public var text: String { lines.withLock { $0 } }

    /// How many lines so far contain `text`.
    public func count(_ text: String) -> Int { self.text.components(separatedBy: text).count - 1 }
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
