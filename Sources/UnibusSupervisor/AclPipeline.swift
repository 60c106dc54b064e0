public import Foundation
public import Logging
public import UnibusCore

/// Turns the allowlist into the running server's ACL, as one transaction: render
/// deterministically, skip if nothing changed, write a candidate 0600, check it with
/// `nats-server -t`, move it into place, signal a reload, and wait for the server to confirm.
///
/// It is also the only writer of the config nats-server starts from (`configForStart()`), so the
/// server never runs a file someone else left on disk. A change that cannot be applied is
/// retried with backoff, logged and shown on `/healthz` until it is; one that takes rights away
/// and still has not reached the running server after `escalationBound` restarts nats-server,
/// which then starts from the freshly rendered config or not at all (fails closed: a revoked
/// user is never left connected). A change that only grants just waits for the next success.
public actor AclPipeline {
    public enum Outcome: Equatable, Sendable {
        case unchanged
        case applied(users: Int, render: Duration, reload: Duration)
        case failed(String)
    }

    /// How long a rendered change may stay unapplied on a running server before it is restarted.
    public static let escalationBound = Duration.seconds(10)

    let store: any AllowlistStore
    let settings: NatsServerSettings
    let internalNkey: String
    let busAuthEnforced: Bool
    /// The KV store lives in the server itself: it cannot be read before the server runs.
    let storeNeedsServer: Bool
    let controller: NatsServerController
    let logger: Logger
    /// The config the running server confirmed (start or reload); nil while none runs.
    private var applied: AclRendering?
    /// The last rendering of the allowlist, in force or not.
    private var desired: AclRendering?
    /// Since when a rendered change has failed to reach the running server.
    private var failingSince: ContinuousClock.Instant?
    /// Why the last pass failed, until one succeeds (a pass in flight is not a failure).
    private var pendingFailure: String?
    /// The config a pass has put on disk and is reloading (the file legitimately differs from `applied` meanwhile).
    private var inFlight: String?
    private var retry: Task<Void, Never>?
    private var starts = 0
    private var retryDelay = Duration.milliseconds(500)
    /// Records left out of the last rendering (invalid or weak keys, corrupt values).
    public private(set) var leftOut: [String] = []
    /// Applies requested so far, and how many of them the last finished pass covered.
    private var requested = 0
    private var covered = 0
    private var passRunning = false
    /// When the last pass ended and what it cost: the next one waits as long again (at most 2 s),
    /// so a burst of changes keeps the server reloading at most half the time and JetStream
    /// (the KV store lives there) keeps answering between reloads.
    private var lastPass: (end: ContinuousClock.Instant, cost: Duration)?
    private var waiting: [(request: Int, continuation: CheckedContinuation<Outcome, Never>)] = []

    public init(
        store: any AllowlistStore, settings: NatsServerSettings, internalNkey: String, busAuthEnforced: Bool,
        storeNeedsServer: Bool = false, controller: NatsServerController, logger: Logger
    ) {
        self.store = store
        self.settings = settings
        self.internalNkey = internalNkey
        self.busAuthEnforced = busAuthEnforced
        self.storeNeedsServer = storeNeedsServer
        self.controller = controller
        self.logger = logger
    }

    /// Renders the full config for the current allowlist.
    public func render() async throws -> (rendering: AclRendering, users: Int) {
        guard busAuthEnforced else { return (try renderOpen(), 0) }
        let (snapshot, problems) = try await store.aclSnapshot(internalNkey: internalNkey)
        if problems != leftOut {
            for problem in problems { logger.error("left out of the ACL (grants nothing until repaired): \(problem)") }
        }
        leftOut = problems
        let authorization = try AuthorizationRenderer.render(snapshot)
        let users = snapshot.users.filter { $0.status == .active }.count
        let text = try NatsServerConfigRenderer.render(settings, authorization: authorization)
        return (AclRendering(text: text, snapshot: snapshot), users)
    }

    private func renderOpen() throws -> AclRendering {
        let text = try NatsServerConfigRenderer.render(settings, authorization: try AuthorizationRenderer.renderOpen(internalNkey: internalNkey))
        return AclRendering(text: text, snapshot: nil)
    }

    /// Only the internal identity (the KV store can only be read once the server runs).
    private func renderEmpty() throws -> AclRendering {
        guard busAuthEnforced else { return try renderOpen() }
        let empty = AllowlistSnapshot(users: [], members: [], internalNkey: internalNkey)
        return AclRendering(
            text: try NatsServerConfigRenderer.render(settings, authorization: try AuthorizationRenderer.render(empty)), snapshot: empty)
    }

    /// Writes the config the server is about to start with, whatever is on disk: rendered from
    /// the allowlist (SQLite), or the last rendering of it (KV, unreadable while the server is
    /// down; an empty allowlist on the very first start). Checked with `nats-server -t`.
    /// - Throws: when it cannot be rendered, written or checked; the server must not start then.
    public func configForStart() async throws -> AclRendering {
        let rendering = storeNeedsServer ? try desired ?? renderEmpty() : try await render().rendering
        try writeChecked(rendering.text)
        desired = rendering
        return rendering
    }

    /// The server started and is ready with `text`.
    public func serverStarted(with rendering: AclRendering) async {
        applied = rendering
        failingSince = nil
        pendingFailure = nil
        starts += 1
        await controller.record(.init(at: Date(), ok: true, message: "nats-server started with the rendered ACL"))
        // After a restart the KV allowlist may have changed while the server was down: render it
        // again (the first time, the KV store opens and applies it).
        if storeNeedsServer && starts > 1 { requestRetry(after: .milliseconds(200)) }
    }

    /// The server stopped: nothing is in force until it starts again.
    public func serverStopped() {
        applied = nil
    }

    /// What `/healthz` reports about the ACL.
    public struct State: Sendable, Equatable {
        /// The server runs the config last rendered from the allowlist, and the file on disk is it.
        public var inForce: Bool
        /// Why not, for the operator.
        public var problem: String?
        public var leftOut: [String]
    }

    public func state() -> State {
        guard let applied else { return State(inForce: false, problem: "nats-server is not running the rendered ACL", leftOut: leftOut) }
        if let pendingFailure {
            return State(inForce: false, problem: "an allowlist change is not applied yet (retrying): \(pendingFailure)", leftOut: leftOut)
        }
        guard configOnDiskIs(applied.text) || inFlight.map(configOnDiskIs) == true else {
            return State(
                inForce: false, problem: "nats-server.conf on disk differs from the config membershipd rendered (modified by something else)",
                leftOut: leftOut)
        }
        return State(inForce: true, problem: nil, leftOut: leftOut)
    }

    /// The file's identity (inode, size, modification and change times) when it last matched `text`.
    private var verifiedOnDisk: (identity: [Int], text: String)?

    /// Whether the config file holds `text`. /healthz is unauthenticated and the file is MBs at
    /// 10k users, so it is read again only when its identity changed since it last matched
    /// (every write membershipd makes is a rename, any other write changes mtime or ctime).
    private func configOnDiskIs(_ text: String) -> Bool {
        var st = stat()
        guard stat(controller.configFile, &st) == 0 else { return false }
        let identity = [
            Int(st.st_ino), Int(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
        ]
        if let verifiedOnDisk, verifiedOnDisk.identity == identity, verifiedOnDisk.text == text { return true }
        guard (try? String(contentsOfFile: controller.configFile, encoding: .utf8)) == text else { return false }
        verifiedOnDisk = (identity, text)
        return true
    }

    /// Applies the current allowlist to the running server. Never throws: failures are logged,
    /// recorded for `/healthz`, retried, and leave the last good config in force.
    ///
    /// Passes never overlap (the actor is reentrant across `await`, so this is explicit): a call
    /// made while a pass runs waits for the next pass, which starts after the call and so sees
    /// every store write made before it. Concurrent callers share that pass: 16 writes in flight
    /// cost about two renders, not 16. Back-to-back passes are spaced by the last one's cost.
    @discardableResult
    public func apply() async -> Outcome {
        requested += 1
        let mine = requested
        if passRunning {
            return await withCheckedContinuation { waiting.append((mine, $0)) }
        }
        passRunning = true
        var outcome = Outcome.unchanged
        while covered < requested {
            if let lastPass {
                let earliest = lastPass.end + min(lastPass.cost, .seconds(2))
                if earliest > .now { try? await Task.sleep(until: earliest) }
            }
            let target = requested
            let start = ContinuousClock.now
            outcome = await applyOnce()
            lastPass = (.now, ContinuousClock.now - start)
            covered = target
            let done = waiting.filter { $0.request <= target }
            waiting.removeAll { $0.request <= target }
            for waiter in done { waiter.continuation.resume(returning: outcome) }
        }
        passRunning = false
        return outcome
    }

    private func applyOnce() async -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome: Outcome
        do {
            let (rendering, users) = try await render()
            desired = rendering
            let pid = await controller.pid
            guard pid != nil, let good = applied else { throw SupervisorError.notRunning }
            if rendering.text == good.text { return settled(.unchanged) }
            let rendered = clock.now
            inFlight = rendering.text
            defer { inFlight = nil }
            try writeChecked(rendering.text)
            do {
                try await controller.reload()
            } catch {
                // Put the running config back, unless the server restarted meanwhile (from a newer file).
                if await controller.pid == pid { try? SecureFile.writeAtomically(good.text, to: controller.configFile) }
                throw error
            }
            applied = rendering
            outcome = .applied(users: users, render: rendered - start, reload: clock.now - rendered)
            logger.notice("ACL reloaded: \(users) active users (render \(rendered - start), reload \(clock.now - rendered))")
        } catch {
            return await failed(error)
        }
        await controller.record(.init(at: Date(), ok: true, message: "ok"))
        return settled(outcome)
    }

    private func settled(_ outcome: Outcome) -> Outcome {
        failingSince = nil
        pendingFailure = nil
        retryDelay = .milliseconds(500)
        return outcome
    }

    /// Records and logs a failed pass, retries it, and restarts the server if a rendered change
    /// has not reached it within `escalationBound`.
    private func failed(_ error: any Error) async -> Outcome {
        let message = "\(error)"
        pendingFailure = message
        logger.error("ACL change not applied, retrying in \(retryDelay); the previous ACL stays in force: \(message)")
        await controller.record(.init(at: Date(), ok: false, message: message))
        let running = await controller.pid != nil
        // Only a change that takes rights away escalates: a grant that waits costs nobody anything.
        if running, let desired, let applied, desired.takesAway(from: applied) {
            let since = failingSince ?? .now
            failingSince = since
            if ContinuousClock.now - since > Self.escalationBound {
                logger.critical(
                    "an allowlist change that takes rights away (a revocation or removal) has not reached nats-server for over \(Self.escalationBound): restarting it from the rendered config so no revoked user stays connected"
                )
                failingSince = nil
                await controller.restart()
            }
        }
        requestRetry(after: retryDelay)
        retryDelay = min(retryDelay * 2, .seconds(5))
        return .failed(message)
    }

    private func requestRetry(after delay: Duration) {
        guard retry == nil else { return }
        retry = Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.retried()
        }
    }

    private func retried() async {
        retry = nil
        await apply()
    }

    private func writeChecked(_ text: String) throws {
        let candidate = controller.configFile + ".next"
        try SecureFile.writeAtomically(text, to: candidate)
        do {
            try controller.executable.checkConfig(candidate)
        } catch {
            unlink(candidate)
            throw error
        }
        guard rename(candidate, controller.configFile) == 0 else {
            throw SupervisorError.io(path: controller.configFile, reason: String(cString: strerror(errno)))
        }
    }
}
