import Foundation
public import Logging
public import ServiceLifecycle
import UnibusProcess

/// Runs nats-server as a child for as long as the service runs: renders its config afresh from
/// the allowlist, starts it, waits until it is ready, starts it again by `RestartPolicy` when it
/// dies, and stops it on graceful shutdown or cancellation (SIGINT, SIGKILL after 10 s). The
/// config is rewritten before every start, so a file changed on disk is never what the server runs.
public struct NatsServerService: Service {
    let controller: NatsServerController
    let configSource: any ServerConfigSource
    let pidFile: String
    let logger: Logger
    let forwardAllLogs: Bool
    let restartPolicy: RestartPolicy
    let onReady: @Sendable () -> Void

    /// - Parameters:
    ///   - pidFile: the `pid_file` of the rendered config; a live survivor named there is killed first.
    ///   - restartPolicy: when a server that died is started again.
    ///   - onReady: called each time the server (re)starts and is ready.
    public init(
        controller: NatsServerController, configSource: any ServerConfigSource, pidFile: String, logger: Logger, forwardAllLogs: Bool,
        restartPolicy: RestartPolicy = RestartPolicy(), onReady: @escaping @Sendable () -> Void = {}
    ) {
        self.controller = controller
        self.configSource = configSource
        self.pidFile = pidFile
        self.logger = logger
        self.forwardAllLogs = forwardAllLogs
        self.restartPolicy = restartPolicy
        self.onReady = onReady
    }

    /// Runs until graceful shutdown or cancellation.
    /// - Throws: the first start's failure (a bad config or binary fails `serve` at once), or
    ///   `CancellationError` while waiting to restart.
    public func run() async throws {
        var restarts = restartPolicy.schedule()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            StaleServer.stop(pidFile: pidFile, configFile: controller.configFile, logger: logger)
            let server: NatsServerProcess
            let started = ContinuousClock.now
            do {
                try await configSource.configForStart()
                server = try await NatsServerProcess.start(
                    executable: controller.executable, configFile: controller.configFile, logger: logger, forwardAllLogs: forwardAllLogs)
                do { try await server.waitUntilReady() } catch {
                    await server.stop()
                    throw error
                }
            } catch {
                guard restarts.hasStartedOnce else { throw error }
                let delay = restarts.next(ranFor: .zero)
                logger.error("nats-server failed to start: \(error); retrying in \(delay)")
                try await Task.sleep(for: delay)
                continue
            }
            restarts.started()
            let status = await serve(server)
            if Task.isCancelled || Task.isShuttingDownGracefully {
                logger.notice("nats-server stopped (\(status))")
                return
            }
            let delay = restarts.next(ranFor: ContinuousClock.now - started)
            logger.error("nats-server exited unexpectedly (\(status)); restarting in \(delay)")
            try await Task.sleep(for: delay)
        }
    }

    /// Hands a ready server to the controller and waits for its exit; a graceful shutdown or
    /// cancellation starts its teardown (SIGINT, then SIGKILL after the grace period).
    private func serve(_ server: NatsServerProcess) async -> ExitStatus {
        await controller.attach(server)
        await configSource.serverStarted()
        logger.notice("nats-server \(controller.executable.version) ready (pid \(server.pid))")
        onReady()
        let status = await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await server.waitForExit()
            } onCancel: {
                server.child.requestStop()
            }
        } onGracefulShutdown: {
            server.child.requestStop()
        }
        await controller.attach(nil)
        await configSource.serverStopped()
        return status
    }
}

extension NatsServerService {
    /// Stops a nats-server an earlier membershipd left running on this config (it was killed
    /// before it could stop it), before anything in its store is touched.
    public static func stopSurvivor(pidFile: String, configFile: String, logger: Logger) {
        StaleServer.stop(pidFile: pidFile, configFile: configFile, logger: logger)
    }
}

/// A nats-server left running by an earlier membershipd (killed before it could stop it).
enum StaleServer {
    static func stop(pidFile: String, configFile: String, logger: Logger) {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        else { return }
        let args = String(decoding: cmdline, as: UTF8.self).split(separator: "\0").map(String.init)
        guard args.contains(where: { $0.hasSuffix("nats-server") }), args.contains(configFile) else { return }
        logger.warning("stopping a nats-server left running by an earlier membershipd (pid \(pid))")
        kill(pid, SIGKILL)
        for _ in 0..<200 where kill(pid, 0) == 0 { usleep(10_000) }
    }
}
