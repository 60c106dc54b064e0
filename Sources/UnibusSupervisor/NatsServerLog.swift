import Foundation
public import Logging
import Synchronization

/// What membershipd reads from nats-server's stderr: readiness, reload outcomes, and the lines
/// an operator must see (warnings and errors; everything in debug mode).
final class NatsServerLog: Sendable {
    private struct State {
        var ready = false
        var lastLine = ""
        var nextReloadID: UInt64 = 0
        var reloadWaiters: [UInt64: CheckedContinuation<Result<Void, SupervisorError>, Never>] = [:]
    }

    private let logger: Logger
    private let forwardAll: Bool
    private let state = Mutex(State())

    init(logger: Logger, forwardAll: Bool) {
        self.logger = logger
        self.forwardAll = forwardAll
    }

    var isReady: Bool { state.withLock { $0.ready } }
    var lastLine: String { state.withLock { $0.lastLine } }

    /// Takes one line of the server's stderr.
    @Sendable func consume(_ line: String) {
        let event = NatsServerLogLine(line)
        let waiters: [CheckedContinuation<Result<Void, SupervisorError>, Never>] = state.withLock { state in
            state.lastLine = line
            if event == .ready { state.ready = true }
            guard event.isReloadOutcome else { return [] }
            defer { state.reloadWaiters = [:] }
            return Array(state.reloadWaiters.values)
        }
        switch event {
        case .reloaded: for w in waiters { w.resume(returning: .success(())) }
        case .reloadFailed(let reason): for w in waiters { w.resume(returning: .failure(.reloadFailed(reason))) }
        default: break
        }
        if line.contains("[ERR]") || line.contains("[FTL]") {
            logger.error("nats-server: \(line)")
        } else if line.contains("[WRN]") {
            logger.warning("nats-server: \(line)")
        } else if forwardAll {
            logger.info("nats-server: \(line)")
        }
    }

    /// Registers for the next reload outcome, calls `signal` (which sends SIGHUP), and waits for
    /// the outcome, the child's death or the deadline, whichever comes first.
    func awaitReload(timeout: Duration, signal: () -> Void, exited: @escaping @Sendable () -> Bool) async throws {
        let id = state.withLock {
            $0.nextReloadID += 1
            return $0.nextReloadID
        }
        let result = await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                let deadline = ContinuousClock.now + timeout
                var outcome = SupervisorError.reloadUnconfirmed(seconds: Int(timeout.components.seconds))
                while ContinuousClock.now < deadline {
                    if exited() {
                        outcome = .exited(status: -1, lastLog: lastLine)
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                    if Task.isCancelled { return }
                }
                state.withLock { $0.reloadWaiters.removeValue(forKey: id) }?.resume(returning: .failure(outcome))
            }
            let result = await withCheckedContinuation { c in
                state.withLock { $0.reloadWaiters[id] = c }
                signal()
            }
            group.cancelAll()
            return result
        }
        try result.get()
    }
}

/// What membershipd reads from nats-server's log.
enum NatsServerLogLine: Equatable {
    case ready, reloaded, reloadFailed(String), other

    init(_ line: String) {
        if line.contains("Server is ready") {
            self = .ready
        } else if line.contains("Reloaded server configuration") {
            self = .reloaded
        } else if let r = line.range(of: "Failed to reload server configuration: ") {
            self = .reloadFailed(String(line[r.upperBound...]))
        } else {
            self = .other
        }
    }

    var isReloadOutcome: Bool {
        switch self {
        case .reloaded, .reloadFailed: true
        default: false
        }
    }
}
