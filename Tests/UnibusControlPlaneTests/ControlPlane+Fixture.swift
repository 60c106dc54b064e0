import Foundation
import UnibusCore

@testable import UnibusControlPlane

extension ControlPlane {
    /// A control plane on `store` for `https://<origin>` whose node is healthy.
    /// - Parameters:
    ///   - allowlistChanged: what a write waits for (in force at once by default).
    ///   - now: the clock signatures are checked against.
    static func fixture(
        store: any AllowlistStore, origin: String, allowlistChanged: @escaping @Sendable () async throws -> String? = { nil },
        now: @escaping @Sendable () -> Date = Date.init
    ) throws -> ControlPlane {
        ControlPlane(
            origins: [try PublicOrigin(parsing: "https://\(origin)")], store: store, posture: { .healthyFixture },
            allowlistChanged: allowlistChanged, now: now)
    }
}

extension Posture {
    /// A node with everything up.
    static let healthyFixture = Posture(
        status: "ok", version: "t", busAuth: "enforce", acl: true, tls: true, store: "sqlite", cluster: nil, jetstream: "ready",
        lastACLReload: nil, serverCertificateExpires: nil)
}
