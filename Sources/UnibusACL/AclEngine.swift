public import Foundation
public import Logging
public import UnibusCore
public import UnibusSupervisor

/// The one place the allowlist becomes nats-server's ACL, on this node.
///
/// ```
/// store change stream ──ingest──▶ AclModel (re-renders only touched users)
///                                   │ text(head:)
///                                   ▼
///               pass: write nats-server.conf (0600, rename) ─▶ SIGHUP ─▶ "Reloaded" ─▶ generation+1
///                                   │
///                                   ▼
///               waiters (HTTP writes, the CLI via the status board) resume
/// ```
///
/// - **Group commit**: changes that arrive while a pass runs share the next one; back-to-back
///   passes are spaced by the last one's cost (at most 2 s), so a burst costs a few reloads
///   and JetStream (the KV store lives in the same server) keeps answering between them.
/// - **No `nats-server -t` on the hot path**: the config is checked before every (re)start,
///   when settings can change; a reload changes only the `ROOMS` users, each rendered from
///   validated types, and nats-server applies a reload all or nothing (a config it cannot
///   parse or apply is refused, logged "Failed to reload", and the running config stays).
/// - **Fails closed**: a pass that fails is retried (0.5 s doubling to 5 s), shown on
///   `/healthz`, and answered 503 to the writers waiting for it; a change that takes rights
///   away and has not reached the running server after `escalationBound` restarts it from the
///   rendered config (or leaves it down if that cannot be checked).
public actor AclEngine {
    /// How long a change that takes rights away may stay unapplied on a running server.
    public static let escalationBound = Duration.seconds(10)

    public struct Configuration: Sendable {
        public var settings: NatsServerSettings
        public var internalNkey: String
        public var busAuthEnforced: Bool
        public init(settings: NatsServerSettings, internalNkey: String, busAuthEnforced: Bool) {
            self.settings = settings
            self.internalNkey = internalNkey
            self.busAuthEnforced = busAuthEnforced
        }
    }

    /// How a waiter's change ended.
    public enum Outcome: Sendable, Equatable {
        /// In force on this node, from this generation on.
        case applied(generation: UInt64)
        /// Not applied (the message says why); it is retried.
        case failed(String)
    }

    let configuration: Configuration
    let controller: NatsServerController
    let logger: Logger
    /// Everything before the first `ROOMS` user (or the whole open config with bus auth off).
    let head: String
    var model: AclModel
    var source: (any AclChangeSource)?
    var board: (any AclStatusBoard)?
    /// Whether the store can be read while nats-server is down (SQLite: yes; KV: it lives there).
    let readableBeforeServer: Bool

    /// What the running server runs: text, model revision and position; nil while it is down.
    var running: (text: String, revision: UInt64, takeAways: UInt64, position: AclPosition)?
    /// What the next start will run (set by `configForStart`).
    var starting: (text: String, revision: UInt64, takeAways: UInt64, position: AclPosition)?
    public internal(set) var generation: UInt64 = 0
    /// When the generation in force was applied.
    var generationAppliedAt = Date()
    var inFlight: String?
    var pendingFailure: String?
    var failingSince: ContinuousClock.Instant?
    var retryDelay = Duration.milliseconds(500)
    var lastPass: (end: ContinuousClock.Instant, cost: Duration)?
    var passes: Task<Void, Never>?
    typealias Waiter = (id: UInt64, position: AclPosition, continuation: CheckedContinuation<Outcome, Never>)
    var waiters: [Waiter] = []
    var nextWaiter: UInt64 = 0
    var verifiedOnDisk: (identity: [Int], text: String)?

    public init(
        _ configuration: Configuration, controller: NatsServerController, source: (any AclChangeSource)?,
        readableBeforeServer: Bool, board: (any AclStatusBoard)?, logger: Logger
    ) throws {
        self.configuration = configuration
        self.controller = controller
        self.source = source
        self.readableBeforeServer = readableBeforeServer
        self.board = board
        self.logger = logger
        model = AclModel(internalNkey: configuration.internalNkey)
        let settings = try NatsServerConfigRenderer.render(configuration.settings, authorization: nil)
        head =
            configuration.busAuthEnforced
            ? settings + (try AuthorizationRenderer.head(internalNkey: configuration.internalNkey))
            : settings + (try AuthorizationRenderer.renderOpen(internalNkey: configuration.internalNkey))
    }

    /// The config for the model as it is now.
    func renderText() -> String {
        configuration.busAuthEnforced ? model.text(head: head) : head
    }

    /// Connects the store's change stream once it can be opened (KV: after nats-server runs).
    public func attach(source: any AclChangeSource, board: (any AclStatusBoard)?) {
        self.source = source
        self.board = board
    }

    /// Takes in what the store's change stream delivered, and schedules a pass.
    public func ingest(_ event: AclFeedEvent) {
        let problemsBefore = model.problems
        switch event {
        case .snapshot(let records, let position): model.load(records, at: position)
        case .changes(let changes, let position): model.apply(changes, at: position)
        }
        let problems = model.problems
        if problems != problemsBefore {
            for problem in problems where !problemsBefore.contains(problem) {
                logger.error("left out of the ACL (grants nothing until repaired): \(problem)")
            }
        }
        schedulePasses()
    }

    /// Where the model is in the store's stream (to resume following it).
    public var position: AclPosition? { model.position.marks.isEmpty ? nil : model.position }

    /// Waits until every change the store holds now is in force on this node.
    /// - Throws: `AclEngineError` when nats-server is not running, the store cannot say where
    ///   it is, the pass failed, or `timeout` passed.
    public func sync(timeout: Duration = .seconds(10)) async throws(AclEngineError) -> UInt64 {
        guard running != nil else { throw .notRunning }
        guard let source else { throw .notRunning }
        let head: AclPosition
        do { head = try await source.head() } catch { throw .storeUnavailable("\(error)") }
        return try await waitApplied(covering: head, timeout: timeout)
    }

    /// `sync`, then how many running nodes have the change in force now, e.g. `2/3` (only this
    /// node is waited for; the others follow within their own reload).
    public func syncAcrossNodes(timeout: Duration = .seconds(10)) async throws(AclEngineError) -> String? {
        guard running != nil, let source else { throw .notRunning }
        let head: AclPosition
        do { head = try await source.head() } catch { throw .storeUnavailable("\(error)") }
        _ = try await waitApplied(covering: head, timeout: timeout)
        guard let board, let nodes = try? await board.runningNodes(), !nodes.isEmpty else { return nil }
        return "\(nodes.filter { $0.position.covers(head) }.count)/\(nodes.count)"
    }

    /// Waits until the change at `position` is in force on this node.
    public func waitApplied(covering position: AclPosition, timeout: Duration) async throws(AclEngineError) -> UInt64 {
        if let running, running.position.covers(position) { return generation }
        nextWaiter += 1
        let id = nextWaiter
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expireWaiter(id)
        }
        defer { timer.cancel() }
        let outcome = await withCheckedContinuation { waiters.append((id, position, $0)) }
        switch outcome {
        case .applied(let generation): return generation
        case .failed(let why): throw .notApplied(why)
        }
    }

    private func expireWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: .failed("not applied within the bound (is nats-server reloading slowly?)"))
    }

    /// Resumes the waiters whose change is now in force (or, on a failure, all of them).
    func resumeWaiters(_ outcome: Outcome) {
        let done: [Waiter]
        if case .applied = outcome, let running {
            done = waiters.filter { running.position.covers($0.position) }
            waiters.removeAll { running.position.covers($0.position) }
        } else {
            done = waiters
            waiters = []
        }
        for waiter in done { waiter.continuation.resume(returning: outcome) }
    }

    /// Tells the status board what this node runs.
    public func publishStatus() async {
        guard let board, let running else { return }
        let status = NodeAclStatus(
            node: configuration.settings.serverName, generation: generation, position: running.position,
            appliedAt: generationAppliedAt, pid: getpid())
        do { try await board.publish(status) } catch { logger.warning("cannot publish this node's ACL status: \(error)") }
    }

    /// This node stops: it no longer counts as running for the CLI's confirmations.
    public func withdrawStatus() async {
        await board?.withdraw(node: configuration.settings.serverName)
    }
}

/// Why a change is not (yet) in force on this node.
public enum AclEngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case notRunning
    case storeUnavailable(String)
    case notApplied(String)

    public var description: String {
        switch self {
        case .notRunning: "nats-server is not running (restarting); the change is stored and applied when it is back"
        case .storeUnavailable(let why): "the store cannot say which changes it holds: \(why)"
        case .notApplied(let why): why
        }
    }
}
