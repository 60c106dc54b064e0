import Foundation
public import Logging
public import ServiceLifecycle

/// Runs nats-server as a child for as long as the service runs: renders its config afresh from
/// the allowlist, starts it, waits until it is ready, restarts it with backoff when it dies, and
/// stops it on graceful shutdown (SIGINT to the child, SIGKILL after a grace period). The config
/// is rewritten before every start, so a file changed on disk is never what the server runs.
public struct NatsServerService: Service {
    let controller: NatsServerController
    let configSource: any ServerConfigSource
    let pidFile: String
    let logger: Logger
    let forwardAllLogs: Bool
    let onReady: @Sendable () -> Void

    /// - Parameters:
    ///   - pidFile: the `pid_file` of the rendered config; a live survivor named there is killed first.
    ///   - onReady: called each time the server (re)starts and is ready.
    public init(
        controller: NatsServerController, configSource: any ServerConfigSource, pidFile: String, logger: Logger, forwardAllLogs: Bool,
        onReady: @escaping @Sendable () -> Void = {}
    ) {
        self.controller = controller
        self.configSource = configSource
        self.pidFile = pidFile
        self.logger = logger
        self.forwardAllLogs = forwardAllLogs
        self.onReady = onReady
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
        var firstStart = true
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            StaleServer.stop(pidFile: pidFile, configFile: controller.configFile, logger: logger)
            let child = NatsServerChild(
                executable: controller.executable, configFile: controller.configFile,
                logger: logger, forwardAllLogs: forwardAllLogs)
            let started = ContinuousClock.now
            do {
                try await configSource.configForStart()
                try child.start()
                try await child.waitUntilReady()
            } catch {
                await child.stop(grace: .seconds(2))
                if firstStart { throw error }
                logger.error("nats-server failed to start: \(error); retrying in \(backoff)")
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
                continue
            }
            firstStart = false
            await controller.attach(child)
            await configSource.serverStarted()
            logger.notice("nats-server \(controller.executable.version) ready (pid \(child.pid))")
            onReady()
            let status = await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await child.waitForExit()
                } onCancel: {
                    Task { await child.stop() }
                }
            } onGracefulShutdown: {
                Task { await child.stop() }
            }
            await controller.attach(nil)
            await configSource.serverStopped()
            if Task.isCancelled || Task.isShuttingDownGracefully {
                logger.notice("nats-server stopped (status \(status))")
                return
            }
            if ContinuousClock.now - started > .seconds(60) { backoff = .milliseconds(250) }
            logger.error("nats-server exited unexpectedly with status \(status); restarting in \(backoff)")
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
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
