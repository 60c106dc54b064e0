import Foundation
import Logging
import UnibusControlPlane
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor

/// Measures the node's posture for `/healthz`: nothing is a constant. JetStream readiness is
/// asked of the live server over the internal identity's connection (`$JS.API.INFO`).
actor NodePosture {
    let controller: NatsServerController
    let busAuthEnforced: Bool
    let natsOptions: NatsConnectOptions
    let store: any AllowlistStore
    let storeKind: String
    let clusterName: String?
    let certificateExpiry: String?
    let logger: Logger
    private var connection: NatsConnection?
    /// The last KV canary result and when: /healthz is unauthenticated, so writes are rate-limited.
    private var canary: (at: ContinuousClock.Instant, state: String, routes: Int)?

    init(
        controller: NatsServerController, busAuthEnforced: Bool, natsOptions: NatsConnectOptions, store: any AllowlistStore,
        storeKind: String, cluster: String?, certificateExpiry: String?, logger: Logger
    ) {
        self.controller = controller
        self.busAuthEnforced = busAuthEnforced
        self.natsOptions = natsOptions
        self.store = store
        self.storeKind = storeKind
        self.clusterName = cluster
        self.certificateExpiry = certificateExpiry
        self.logger = logger
    }

    func measure() async -> Posture {
        let running = await controller.pid != nil
        var jetstream = "not-ready"
        var routes = 0
        if running {
            if storeKind == "kv" { (jetstream, routes) = await kvState() } else { jetstream = await jetStreamState() }
        }
        let reload = await controller.lastReload
        let aclOK = busAuthEnforced && (reload?.ok ?? true)
        let ok = running && jetstream == "ready" && (!busAuthEnforced || aclOK)
        return Posture(
            status: ok ? "ok" : "degraded", version: AppInfo.version, busAuth: busAuthEnforced ? "enforce" : "off",
            acl: aclOK, tls: true, store: storeKind, cluster: clusterName.map { .init(name: $0, routes: routes) }, jetstream: jetstream,
            lastACLReload: reload.map { .init(at: ISO8601DateFormatter().string(from: $0.at), ok: $0.ok, message: $0.message) },
            serverCertificateExpires: certificateExpiry)
    }

    /// With the KV store, ready means a real replicated write succeeds: a canary nonce
    /// (create-only, expires with the bucket's max age). A read is no proof of quorum.
    private func kvState() async -> (String, Int) {
        if let canary, ContinuousClock.now - canary.at < .seconds(2) { return (canary.state, canary.routes) }
        var state: String
        var routes = 0
        do {
            let real = try await (store as? DeferredAllowlistStore)?.current() ?? store
            let nonce = try NonceValue("healthz-canary-" + RequestSigner.randomNonce().value.prefix(24))
            _ = try await real.consumeNonce(nonce, expiresAt: Date() + 60, now: Date())
            state = "ready"
            if let kv = real as? KVAllowlistStore, let s = try? await kv.jetStream.bucketStatus(KVAllowlistStore.Bucket.nonces.rawValue) {
                routes = s.followers.filter { !$0.offline }.count  // peers reachable over routes
            }
        } catch StoreError.unavailable(let why) where why.contains("not open yet") {
            state = "not-ready"
        } catch {
            logger.warning("KV canary write failed: \(error)")
            state = "no-quorum"
        }
        canary = (ContinuousClock.now, state, routes)
        return (state, routes)
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
    static func of(_ file: String) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["openssl", "x509", "-noout", "-enddate", "-in", file]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let value = text.split(separator: "=", maxSplits: 1).last else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "  ", with: " ")
        return formatter.date(from: trimmed).map { ISO8601DateFormatter().string(from: $0) } ?? trimmed
    }
}
