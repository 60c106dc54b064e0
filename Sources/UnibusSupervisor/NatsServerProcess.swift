import Foundation
public import Logging
import Synchronization
public import UnibusProcess

/// One run of the nats-server child: a `ChildProcess` (setpriv'd, so it dies with membershipd)
/// whose stderr this reads for readiness, reload outcomes and warnings. `NatsServerService`
/// starts a new one after a death, by its `RestartPolicy`.
public final class NatsServerProcess: Sendable {
    /// How nats-server is stopped: SIGINT (it exits 0; SIGTERM exits 1), SIGKILL after the grace.
    static func teardown(grace: Duration) -> ChildProcess.Teardown { .init(signal: SIGINT, grace: grace) }

    let child: ChildProcess
    let log: NatsServerLog

    private init(child: ChildProcess, log: NatsServerLog) {
        self.child = child
        self.log = log
    }

    /// Starts `nats-server -c configFile`.
    /// - Parameters:
    ///   - forwardAllLogs: forward every server log line (debug mode); otherwise only warnings and errors.
    /// - Throws: `ProcessError` if it cannot be started.
    public static func start(
        executable: NatsServerExecutable, configFile: String, logger: Logger, forwardAllLogs: Bool, stopGrace: Duration = .seconds(10)
    ) async throws -> NatsServerProcess {
        let log = NatsServerLog(logger: logger, forwardAll: forwardAllLogs)
        let child = try await ChildProcess.start(
            Command(executable.path, ["-c", configFile]), stop: teardown(grace: stopGrace), onLine: log.consume)
        return NatsServerProcess(child: child, log: log)
    }

    /// The child's process id.
    public var pid: Int32 { child.pid }

    /// Waits until the server logged "Server is ready".
    /// - Throws: `SupervisorError.exited` if it died first, `.notReady` when `timeout` ran out.
    public func waitUntilReady(timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.isReady { return }
            if child.hasExited { throw SupervisorError.exited(status: await child.waitForExit().code, lastLog: log.lastLine) }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw SupervisorError.notReady(seconds: Int(timeout.components.seconds), lastLog: log.lastLine)
    }

    /// Sends SIGHUP and waits for the server to confirm ("Reloaded server configuration") or refuse.
    /// - Throws: `SupervisorError.reloadFailed` / `.reloadUnconfirmed` / `.exited`.
    public func reload(timeout: Duration = .seconds(10)) async throws {
        try await log.awaitReload(timeout: timeout) {
            child.send(SIGHUP)
        } exited: { [child] in
            child.hasExited
        }
    }

    /// Stops the server (SIGINT, SIGKILL after the grace period) and returns how it ended.
    @discardableResult
    public func stop() async -> ExitStatus { await child.stop() }

    /// Waits for the server to exit, for whatever reason.
    public func waitForExit() async -> ExitStatus { await child.waitForExit() }
}
