public import Foundation
public import Logging
public import UnibusCore

/// Turns the allowlist into the running server's ACL, as one transaction: render
/// deterministically, skip if nothing changed, write a candidate 0600, check it with
/// `nats-server -t`, move it into place, signal a reload, and wait for the server to confirm.
/// On any failure the last good config is put back and the failure is logged and recorded.
public actor AclPipeline {
    public enum Outcome: Equatable, Sendable {
        case unchanged
        case applied(users: Int, render: Duration, reload: Duration)
        case failed(String)
    }

    let store: any AllowlistStore
    let settings: NatsServerSettings
    let internalNkey: String
    let busAuthEnforced: Bool
    let controller: NatsServerController
    let logger: Logger
    private var applied: String?
    /// Applies requested so far, and how many of them the last finished pass covered.
    private var requested = 0
    private var covered = 0
    private var passRunning = false
    private var waiting: [(request: Int, continuation: CheckedContinuation<Outcome, Never>)] = []

    public init(
        store: any AllowlistStore, settings: NatsServerSettings, internalNkey: String, busAuthEnforced: Bool,
        controller: NatsServerController, logger: Logger
    ) {
        self.store = store
        self.settings = settings
        self.internalNkey = internalNkey
        self.busAuthEnforced = busAuthEnforced
        self.controller = controller
        self.logger = logger
    }

    /// Renders the full config for the current allowlist.
    public func render() async throws -> (text: String, users: Int) {
        guard busAuthEnforced else { return (try NatsServerConfigRenderer.render(settings, authorization: nil), 0) }
        let (snapshot, problems) = try await store.aclSnapshot(internalNkey: internalNkey)
        for problem in problems { logger.error("left out of the ACL (grants nothing until repaired): \(problem)") }
        let authorization = try AuthorizationRenderer.render(snapshot)
        let users = snapshot.users.filter { $0.status == .active }.count
        return (try NatsServerConfigRenderer.render(settings, authorization: authorization), users)
    }

    private func renderEmpty() throws -> (text: String, users: Int) {
        let authorization =
            busAuthEnforced
            ? try AuthorizationRenderer.render(AllowlistSnapshot(users: [], members: [], internalNkey: internalNkey)) : nil
        return (try NatsServerConfigRenderer.render(settings, authorization: authorization), 0)
    }

    /// Writes the first config before the server starts.
    /// - Parameter emptyAllowlist: render only the internal identity (the KV store can only be
    ///   read once the server runs; the real ACL follows with the first `apply()`).
    /// - Throws: when it cannot be rendered, written, or passed by `nats-server -t`.
    public func prepareInitialConfig(emptyAllowlist: Bool = false) async throws {
        let (text, users) = emptyAllowlist ? try renderEmpty() : try await render()
        try writeChecked(text)
        applied = text
        logger.info("wrote nats-server config \(controller.configFile) (\(users) active users)")
    }

    /// Applies the current allowlist to the running server. Never throws: failures are logged,
    /// recorded for `/healthz`, and leave the last good config in force.
    ///
    /// Passes never overlap (the actor is reentrant across `await`, so this is explicit): a call
    /// made while a pass runs waits for the next pass, which starts after the call and so sees
    /// every store write made before it. Concurrent callers share that pass: 16 writes in flight
    /// cost about two renders, not 16.
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
            let target = requested
            outcome = await applyOnce()
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
            let (text, users) = try await render()
            if text == applied { return .unchanged }
            let rendered = clock.now
            try writeChecked(text)
            do {
                try await controller.reload()
            } catch {
                if let good = applied { try? SecureFile.writeAtomically(good, to: controller.configFile) }
                throw error
            }
            applied = text
            outcome = .applied(users: users, render: rendered - start, reload: clock.now - rendered)
            logger.notice("ACL reloaded: \(users) active users (render \(rendered - start), reload \(clock.now - rendered))")
        } catch {
            outcome = .failed("\(error)")
            logger.error("ACL change not applied, previous ACL stays in force: \(error)")
        }
        let ok: Bool
        if case .failed = outcome { ok = false } else { ok = true }
        await controller.record(.init(at: Date(), ok: ok, message: { if case .failed(let m) = outcome { m } else { "ok" } }()))
        return outcome
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
