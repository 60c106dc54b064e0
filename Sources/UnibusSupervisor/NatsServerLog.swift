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
        let level = NatsServerLogLine.level(line)
        if level == "ERR" || level == "FTL" {
            logger.error("nats-server: \(line)")
        } else if level == "WRN" {
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

    /// Only nats-server's own messages count, matched whole: a client can put any text in the
    /// log (`authentication error - Nkey "…Reloaded server configuration"`), and a phrase found
    /// anywhere in a line would confirm a reload that has not happened.
    init(_ line: String) {
        guard let (level, message) = Self.parts(line) else {
            self = .other
            return
        }
        if level == "INF" && message == "Server is ready" {
            self = .ready
        } else if level == "INF" && (message == "Reloaded server configuration" || message.hasPrefix("Reloaded server configuration (")) {
            // 2.15 appends the config's digest: "(sha256:…)".
            self = .reloaded
        } else if level == "ERR", message.hasPrefix(Self.reloadFailure) {
            self = .reloadFailed(String(message.dropFirst(Self.reloadFailure.count)))
        } else {
            self = .other
        }
    }

    static let reloadFailure = "Failed to reload server configuration: "

    /// `[pid] [date time ][LVL] message`, nats-server's line format: the level and the message.
    static func parts(_ line: String) -> (level: Substring, message: Substring)? {
        guard line.hasPrefix("["), let pidEnd = line.firstIndex(of: "]"),
            line[line.index(after: line.startIndex)..<pidEnd].allSatisfy(\.isNumber)
        else { return nil }
        guard let open = line[pidEnd...].range(of: " ["), line[open.upperBound...].count > 5 else { return nil }
        let levelStart = open.upperBound
        let levelEnd = line.index(levelStart, offsetBy: 3)
        guard line[levelEnd...].hasPrefix("] ") else { return nil }
        // Between the pid and the level only the timestamp may stand (digits, '/', ':', '.', ' ').
        guard line[line.index(after: pidEnd)..<open.lowerBound].allSatisfy({ $0.isNumber || "/:. ".contains($0) }) else { return nil }
        return (line[levelStart..<levelEnd], line[line.index(levelEnd, offsetBy: 2)...])
    }

    /// The level tag of a nats-server line (`ERR`, `WRN`, …), nil for anything else.
    static func level(_ line: String) -> Substring? { parts(line)?.level }

    var isReloadOutcome: Bool {
        switch self {
        case .reloaded, .reloadFailed: true
        default: false
        }
    }
}
