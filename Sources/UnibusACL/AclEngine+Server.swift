import Foundation
import Logging
import UnibusCore
public import UnibusSupervisor

/// The engine is the only writer of the config nats-server starts from: the server never runs a
/// file someone else left on disk.
extension AclEngine: ServerConfigSource {
    /// Renders the config the server is about to start with — from the store itself when it can
    /// be read now (SQLite), else from the model (KV: the last state seen; only the internal
    /// identity on the very first start) — and checks it with `nats-server -t`.
    /// - Throws: when it cannot be read, rendered, written or checked: the server must not start.
    public func configForStart() async throws {
        if readableBeforeServer, let source {
            let (records, position) = try await source.snapshot()
            model.load(records, at: position)
        }
        let text = renderText()
        let candidate = controller.configFile + ".next"
        try SecureFile.writeAtomically(text, to: candidate)
        do {
            try await controller.executable.checkConfig(candidate)
        } catch {
            unlink(candidate)
            throw error
        }
        guard rename(candidate, controller.configFile) == 0 else {
            throw SupervisorError.io(path: controller.configFile, reason: String(cString: strerror(errno)))
        }
        starting = (text, model.revision, model.takeAways, model.position)
    }

    /// The server started and is ready with the config `configForStart` wrote.
    public func serverStarted() async {
        guard let starting else { return }
        running = starting
        generation += 1
        generationAppliedAt = Date()
        logger.info("ACL generation \(generation) in force (nats-server started): \(model.renderedUsers) active users at \(starting.position)")
        await confirmed()
        // Changes that arrived while it started are applied now.
        schedulePasses()
    }

    /// The server stopped: nothing is in force until it starts again.
    public func serverStopped() {
        running = nil
    }
}

extension AclEngine {
    /// What `/healthz` reports about the ACL.
    public struct State: Sendable, Equatable {
        /// The server runs the config last rendered from the allowlist, and the file on disk is it.
        public var inForce: Bool
        /// Why not, for the operator.
        public var problem: String?
        /// Records that grant nothing (invalid or weak keys, corrupt values), one line each.
        public var leftOut: [String]
        /// The generation in force (0 before the first start).
        public var generation: UInt64
        /// Where in the store's change stream the ACL in force is.
        public var position: String
    }

    public func state() -> State {
        var state = State(
            inForce: false, problem: nil, leftOut: model.problems, generation: generation,
            position: running?.position.description ?? "none")
        guard let running else {
            state.problem = "nats-server is not running the rendered ACL"
            return state
        }
        if let pendingFailure {
            state.problem = "an allowlist change is not applied yet (retrying): \(pendingFailure)"
        } else if !(configOnDiskIs(running.text) || inFlight.map(configOnDiskIs) == true) {
            state.problem = "nats-server.conf on disk differs from the config membershipd rendered (modified by something else)"
        } else {
            state.inForce = true
        }
        return state
    }

    /// Whether the config file holds `text`. /healthz is unauthenticated and the file is MBs at
    /// 10k users, so it is read again only when its identity changed since it last matched
    /// (every write membershipd makes is a rename, so a new inode; any other write changes the
    /// size or the modification time).
    private func configOnDiskIs(_ text: String) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: controller.configFile) else { return false }
        let identity = [
            (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? -1, (attributes[.size] as? NSNumber)?.intValue ?? -1,
            Int(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1) * 1_000_000),
        ]
        if let verifiedOnDisk, verifiedOnDisk.identity == identity, verifiedOnDisk.text == text { return true }
        guard (try? String(contentsOfFile: controller.configFile, encoding: .utf8)) == text else { return false }
        verifiedOnDisk = (identity, text)
        return true
    }
}
