public import Foundation

/// Local development TLS material for a node on loopback: a client CA, a server certificate and
/// an operator client certificate (`ca.crt`, `server.crt`, `client.crt` and their keys), made in
/// Swift (no `openssl`). Keys are ECDSA P-256, 0600; certificates 0644; the directory 0700.
///
/// Existing keys are never replaced: a certificate that is missing, does not match the CA,
/// expires within 30 days or (the server's) covers other names is re-issued for the key it has.
public struct DevelopmentCertificates: Sendable {
    /// Where the six files live.
    public struct Paths: Sendable, Equatable {
        public let directory: URL
        public let caCert: URL
        public let caKey: URL
        public let serverCert: URL
        public let serverKey: URL
        public let clientCert: URL
        public let clientKey: URL

        public init(directory: URL) {
            self.directory = directory
            caCert = directory.appendingPathComponent("ca.crt")
            caKey = directory.appendingPathComponent("ca.key")
            serverCert = directory.appendingPathComponent("server.crt")
            serverKey = directory.appendingPathComponent("server.key")
            clientCert = directory.appendingPathComponent("client.crt")
            clientKey = directory.appendingPathComponent("client.key")
        }
    }

    /// Creates the material if absent (returns true when anything was created or re-issued).
    /// The server certificate covers 127.0.0.1, localhost, the host name and `extraNames`.
    /// - Throws: ``PKIError``.
    public static func ensure(
        in directory: URL, hostName: String = ProcessInfo.processInfo.hostName, extraNames: [String] = [],
        clients: [String] = ["client"], days: Int = LeafCertificate.defaultDays, caDays: Int = CertificateAuthority.defaultDays,
        force: Bool = false
    ) throws(PKIError) -> (paths: Paths, created: Bool) {
        let names = try serverNames(hostName: hostName, extra: extraNames)
        let paths = Paths(directory: directory)
        try KeyPairFiles.makeDirectory(directory.path)
        let (ca, caOutcome) = try CertificateAuthority.ensure(
            KeyPairFiles(certificate: paths.caCert.path, key: paths.caKey.path), commonName: "unibus client CA", days: caDays, force: force)
        let policy: LeafCertificate.Policy = force ? .replace : .adapt
        var outcomes = [caOutcome]
        outcomes.append(
            try LeafCertificate.ensure(
                KeyPairFiles(directory: directory.path, name: "server"), profile: .server(names: names), ca: ca, days: days, policy: policy))
        for client in clients {
            outcomes.append(
                try LeafCertificate.ensure(
                    KeyPairFiles(directory: directory.path, name: client), profile: .client(client), ca: ca, days: days, policy: policy))
        }
        return (paths, outcomes.contains { $0 != .kept })
    }

    /// 127.0.0.1, localhost, `hostName` (left out when empty) and `extra`, without repeats.
    static func serverNames(hostName: String, extra: [String]) throws(PKIError) -> [SubjectName] {
        var names = [try SubjectName("127.0.0.1"), try SubjectName("localhost")]
        for host in [hostName] + extra where !host.trimmingCharacters(in: .whitespaces).isEmpty {
            let name = try SubjectName(host)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}
