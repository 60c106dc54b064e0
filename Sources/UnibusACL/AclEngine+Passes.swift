import Foundation
import Logging
import UnibusCore
import UnibusSupervisor

extension AclEngine {
    /// Starts the pass loop unless it runs (or no server runs: its start applies everything).
    func schedulePasses() {
        guard passes == nil, running != nil else { return }
        passes = Task { await self.runPasses() }
    }

    /// Whether the running server lags the model (a text change, or only a position to confirm).
    private var needsPass: Bool {
        guard let running else { return false }
        return running.revision != model.revision || !running.position.covers(model.position)
    }

    /// Passes until the running server has everything the model has. Passes never overlap;
    /// whatever arrives during one is taken by the next (group commit).
    private func runPasses() async {
        while needsPass && !Task.isCancelled {
            // Reloads are spaced by as long as the last one took (at most 2 s): nats-server
            // applies a reload under its locks, and JetStream (the KV store lives there) must
            // answer between them. Whatever arrives meanwhile shares the next reload.
            if let lastPass, model.revision != running?.revision {
                let earliest = lastPass.end + min(lastPass.cost, .seconds(2))
                if earliest > .now { try? await Task.sleep(until: earliest) }
            }
            let start = ContinuousClock.now
            let generationBefore = generation
            let ok = await pass()
            if generation != generationBefore || !ok { lastPass = (.now, ContinuousClock.now - start) }
            if !ok {
                try? await Task.sleep(for: retryDelay)
                retryDelay = min(retryDelay * 2, .seconds(5))
            }
        }
        passes = nil
    }

    /// One pass: render, write, reload, confirm. Returns false when it failed.
    private func pass() async -> Bool {
        guard let previous = running, let pid = await controller.pid, running != nil else { return true }
        let target = (revision: model.revision, takeAways: model.takeAways, position: model.position)
        let clock = ContinuousClock()
        let start = clock.now
        // The revision counts changes of the text, so an equal revision is an equal text (a
        // change that does not concern the ACL, a handle reservation): only the position moved.
        // A different revision is rendered and reloaded without comparing 3 MB of text (with
        // bus auth off the text never depends on the allowlist).
        let text = target.revision == previous.revision ? previous.text : renderText()
        if target.revision == previous.revision || (!configuration.busAuthEnforced && text == previous.text) {
            running = (text, target.revision, max(previous.takeAways, target.takeAways), target.position)
            await confirmed()
            return true
        }
        let rendered = clock.now
        inFlight = text
        defer { inFlight = nil }
        do {
            try SecureFile.writeAtomically(text, to: controller.configFile)
            do {
                try await controller.reload()
            } catch {
                // Put the running config back, unless the server restarted meanwhile (from a newer file).
                if await controller.pid == pid, let running { try? SecureFile.writeAtomically(running.text, to: controller.configFile) }
                throw error
            }
        } catch {
            await failed(error)
            return false
        }
        // A restart meanwhile started from a newer rendering: that one is in force.
        guard await controller.pid == pid, running != nil else { return true }
        running = (text, target.revision, target.takeAways, target.position)
        generation += 1
        generationAppliedAt = Date()
        logger.notice(
            "ACL reloaded: generation \(generation) in force, \(model.renderedUsers) active users at \(target.position) (render \(rendered - start), reload \(clock.now - rendered))"
        )
        await confirmed()
        return true
    }

    /// The running server has everything up to its position.
    func confirmed() async {
        failingSince = nil
        pendingFailure = nil
        retryDelay = .milliseconds(500)
        resumeWaiters(.applied(generation: generation))
        await controller.record(.init(at: Date(), ok: true, message: "ok"))
        await publishStatus()
    }

    /// Records, logs and answers a failed pass, and restarts the server if a change that takes
    /// rights away has not reached it within `escalationBound`.
    private func failed(_ error: any Error) async {
        let message = "\(error)"
        pendingFailure = message
        logger.error("ACL change not applied, retrying in \(retryDelay); the previous ACL stays in force: \(message)")
        resumeWaiters(.failed(message))
        await controller.record(.init(at: Date(), ok: false, message: message))
        guard let running, model.takeAways != running.takeAways else { return }
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
}
