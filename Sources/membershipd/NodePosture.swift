import Foundation
import Logging
import UnibusACL
import UnibusControlPlane
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor

/// Measures the node's posture for `/healthz`: nothing is a constant. JetStream readiness is
/// asked of the live server over the internal identity's connection (`$JS.API.INFO`).
actor NodePosture {
    let controller: NatsServerController
    let engine: AclEngine
    let busAuthEnforced: Bool
    let natsOptions: NatsConnectOptions
    let store: any AllowlistStore
    let storeKind: StoreKind
    let clusterName: String?
    let certificateExpiry: String?
    let logger: Logger
    private var connection: NatsConnection?
    /// The last canary write and when: /healthz is unauthenticated, so writes are rate-limited.
    private var canary: (at: ContinuousClock.Instant, result: Canary, routes: Int)?

    /// What a canary write found.
    enum Canary: Equatable {
        case written
        /// The store has not opened yet: the KV opens once JetStream answers (KVBootstrapService).
        case notOpen(String)
        case failed(String)

        var failure: String? {
            switch self {
            case .written: nil
            case .notOpen(let why), .failed(let why): why
            }
        }
    }

    init(
        controller: NatsServerController, engine: AclEngine, busAuthEnforced: Bool, natsOptions: NatsConnectOptions,
        store: any AllowlistStore, storeKind: StoreKind, cluster: String?, certificateExpiry: String?, logger: Logger
    ) {
        self.controller = controller
        self.engine = engine
        self.busAuthEnforced = busAuthEnforced
        self.natsOptions = natsOptions
        self.store = store
        self.storeKind = storeKind
        self.clusterName = cluster
        self.certificateExpiry = certificateExpiry
        self.logger = logger
    }

    /// ok only when nats-server runs the ACL rendered from the allowlist (and the file on disk is
    /// still that one), JetStream answers, and the store accepts a write.
    func measure() async -> Posture {
        var problems: [String] = []
        let running = await controller.pid != nil
        var jetstream = "not-ready"
        var routes = 0
        if running {
            let (canary, peers) = await canaryWrite()
            let failure = canary.failure
            routes = peers
            if storeKind == .kv {
                switch canary {
                case .written: jetstream = "ready"
                // A clustered node whose buckets are not open yet waits for quorum (KVBootstrapService).
                case .notOpen: jetstream = clusterName == nil ? "not-ready" : "no-quorum"
                case .failed: jetstream = "no-quorum"
                }
                if let failure { problems.append("the KV store cannot be written: \(failure)") }
            } else {
                jetstream = await jetStreamState()
                if jetstream != "ready" { problems.append("JetStream is not ready") }
                if let failure { problems.append("the SQLite store cannot be written: \(failure)") }
            }
        } else {
            problems.append("nats-server is not running")
        }
        let acl = await engine.state()
        if busAuthEnforced, !acl.inForce { problems.append(acl.problem ?? "the rendered ACL is not in force") }
        let reload = await controller.lastReload
        var posture = Posture(
            status: problems.isEmpty ? "ok" : "degraded", version: AppInfo.version, busAuth: busAuthEnforced ? "enforce" : "off",
            acl: busAuthEnforced && acl.inForce, tls: true, store: storeKind.rawValue, cluster: clusterName.map { .init(name: $0, routes: routes) },
            jetstream: jetstream,
            lastACLReload: reload.map { .init(at: ISO8601DateFormatter().string(from: $0.at), ok: $0.ok, message: $0.message) },
            serverCertificateExpires: certificateExpiry)
        posture.problems = problems
        posture.leftOutOfACL = acl.leftOut.count  // details in the log and `user list`: /healthz is unauthenticated
        posture.aclGeneration = acl.generation
        posture.aclPosition = acl.position
        return posture
    }

    /// A real write. KV: a canary nonce (create-only, expires in a minute), since a read is no
    /// proof of quorum. SQLite: a write under the write lock, rolled back (a read is no proof the
    /// file can be written, and a commit would wake the change feed every time).
    private func canaryWrite() async -> (result: Canary, routes: Int) {
        if let canary, ContinuousClock.now - canary.at < .seconds(2) { return (canary.result, canary.routes) }
        let (result, routes) = await writeCanary()
        if let failure = result.failure { logger.warning("store canary write failed: \(failure)") }
        canary = (ContinuousClock.now, result, routes)
        return (result, routes)
    }

    private func writeCanary() async -> (result: Canary, routes: Int) {
        let real: any AllowlistStore
        do {
            real = try await (store as? DeferredAllowlistStore)?.current() ?? store
        } catch {
            return (.notOpen("\(error)"), 0)
        }
        do {
            if let probe = real as? any WritableProbe {
                try await probe.probeWritable()
            } else {
                let nonce = try NonceValue("healthz-canary-" + RequestSigner.randomNonce().value.prefix(24))
                _ = try await real.consumeNonce(nonce, expiresAt: Date() + 60, now: Date())
            }
        } catch {
            return (.failed("\(error)"), 0)
        }
        guard let replicated = real as? any ReplicatedAllowlistStore, let s = try? await replicated.replication(of: .nonces) else {
            return (.written, 0)
        }
        return (.written, s.followers.filter { !$0.offline }.count)  // peers reachable over routes
    }

    private func jetStreamState() async -> String {
        do {
            if connection == nil || connection?.isClosed == true {
                connection = try await NatsConnection.connect(natsOptions)
            }
            let reply = try await connection!.request("$JS.API.INFO", payload: [], timeout: .seconds(2))
            return reply.string?.contains("\"error\"") == true ? "not-ready" : "ready"
        } catch {
            logger.debug("JetStream readiness check failed: \(error)")
            connection = nil
            return "not-ready"
        }
    }
}

/// The server certificate's notAfter, read with openssl (nil if it cannot be read).
enum CertificateExpiry {
    /// The certificate's notAfter, ISO 8601; nil when the file is not a readable certificate.
    static func of(_ file: String) -> String? {
        CertificateFile.expiry(file).map { ISO8601DateFormatter().string(from: $0) }
    }
}
