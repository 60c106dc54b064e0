public import Foundation
public import X509

/// What a leaf certificate is for: its subject, the names it covers and its extended key usage.
public struct LeafProfile: Sendable, Equatable {
    public enum Usage: Sendable, Equatable {
        /// A client certificate (users, operators).
        case client
        /// A node's server certificate; also presented by membershipd to its own nats-server.
        case serverAndClient

        var extendedKeyUsages: [ExtendedKeyUsage.Usage] { self == .client ? [.clientAuth] : [.serverAuth, .clientAuth] }
    }

    public var commonName: String
    public var names: [SubjectName]
    public var usage: Usage

    public init(commonName: String, names: [SubjectName], usage: Usage) {
        self.commonName = commonName
        self.names = names
        self.usage = usage
    }

    /// A node's server certificate (or a route certificate: each node is both ends of a route).
    public static func server(commonName: String = "unibus server", names: [SubjectName]) -> LeafProfile {
        LeafProfile(commonName: commonName, names: names, usage: .serverAndClient)
    }

    /// A client certificate named `commonName` (a user's handle, `operator`, `client`).
    public static func client(_ commonName: String) -> LeafProfile {
        LeafProfile(commonName: commonName, names: [], usage: .client)
    }
}

/// Issues and keeps leaf certificates.
public enum LeafCertificate {
    /// Validity of a new server or client certificate.
    public static let defaultDays = 825

    /// How an existing certificate that no longer matches what is asked is treated.
    public enum Policy: Sendable {
        /// Operator material: a leaf is never silently re-issued with other names, usage or CA;
        /// the call fails saying so (an operator re-runs with --force).
        case refuseChanges
        /// Development material: re-issued for the key it has.
        case adapt
        /// New key and certificate, whatever exists.
        case replace
    }

    /// Makes `files` hold a current certificate for `profile` issued by `ca`. An existing key is
    /// kept (unless `.replace`); a missing or expiring certificate (within 30 days, or half its
    /// lifetime for `days` under 60) is re-issued for it.
    public static func ensure(
        _ files: KeyPairFiles, profile: LeafProfile, ca: CertificateAuthority, days: Int = defaultDays, policy: Policy,
        now: Date = Date()
    ) throws(PKIError) -> IssueOutcome {
        if case .replace = policy {
            let key = try files.writeNewKey()
            try files.write(try ca.sign(profile, publicKey: key.publicKey, days: days, now: now))
            return .replaced
        }
        guard files.keyExists else {
            if files.certificateExists { throw .keyMissing(certificate: files.certificate, key: files.key) }
            let key = try files.writeNewKey()
            try files.write(try ca.sign(profile, publicKey: key.publicKey, days: days, now: now))
            return .created
        }
        let key = try files.readKey()
        if files.certificateExists {
            let existing = try files.readCertificate()
            guard existing.publicKey == key.publicKey else { throw .keyMismatch(certificate: files.certificate, key: files.key) }
            if let difference = Self.difference(existing, profile: profile, ca: ca) {
                if case .refuseChanges = policy { throw .differs(certificate: files.certificate, reason: difference) }
            } else if existing.notValidAfter.timeIntervalSince(now) >= min(CertificateAuthority.renewalMargin, TimeInterval(days) * 43_200) {
                return .kept
            }
        }
        try files.write(try ca.sign(profile, publicKey: key.publicKey, days: days, now: now))
        return .renewed
    }

    /// How `certificate` differs from what `profile` and `ca` ask for, or nil.
    static func difference(_ certificate: Certificate, profile: LeafProfile, ca: CertificateAuthority) -> String? {
        guard ca.issued(certificate) else { return "was issued by another CA than \(ca.files.certificate)" }
        let have = SubjectName.names(in: certificate)
        let want = Set(profile.names)
        if have != want {
            return
                "covers \(have.map(\.description).sorted().joined(separator: ", ")), not \(want.map(\.description).sorted().joined(separator: ", "))"
        }
        let usages = Set(((try? certificate.extensions.extendedKeyUsage) ?? nil).map { Array($0) } ?? [])
        if usages != Set(profile.usage.extendedKeyUsages) { return "has another extended key usage" }
        if certificate.subject.description != "CN=\(profile.commonName)" { return "is for \(certificate.subject), not CN=\(profile.commonName)" }
        return nil
    }
}
