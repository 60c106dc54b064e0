public import Foundation

#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Local development TLS material for a node on loopback: a client CA, a server certificate
/// and an operator client certificate, made with the `openssl` CLI.
///
/// Writes the same files, with the same profiles, as `tls/generate-certs.sh` with its defaults:
/// ECDSA P-256 keys (mode 0600), certificates (0644), the directory 0700. Existing keys are
/// never replaced; a certificate that is missing, does not match its key, does not chain to
/// `ca.crt`, expires within 30 days or (the server's) does not cover a required name is
/// re-issued for the key it has. Secrets never appear in argv: openssl writes keys to files.
/// Blocking (it runs child processes): call it once at startup.
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

    /// Validity of a new CA certificate, in days.
    public static let caValidityDays = 3650
    /// Validity of new server and client certificates, in days.
    public static let leafValidityDays = 825
    /// A certificate closer than this to its expiry is re-issued.
    public static let renewalMarginDays = 30

    /// Creates the material if absent (returns true when anything was created or re-issued,
    /// false when everything already existed and was reused unchanged).
    /// SANs: 127.0.0.1, localhost and the host name. Throws ``DevelopmentCertificatesError``.
    public static func ensure(
        in directory: URL,
        hostName: String = ProcessInfo.processInfo.hostName,
        openssl: String = "openssl"
    ) throws -> (paths: Paths, created: Bool) {
        let names = try serverNames(hostName: hostName)
        let tool = try OpenSSL(locating: openssl)
        var run = Run(paths: Paths(directory: directory), openssl: tool)
        defer { run.discardStage() }
        try run.makeDirectory()
        try run.ensureCA()
        try run.ensureLeaf(
            cert: run.paths.serverCert, key: run.paths.serverKey, commonName: "unibus server",
            extensions: leafExtensions + "extendedKeyUsage = serverAuth, clientAuth\n"
                + "subjectAltName = " + names.map(\.entry).joined(separator: ",") + "\n",
            purpose: "sslserver", names: names)
        try run.ensureLeaf(
            cert: run.paths.clientCert, key: run.paths.clientKey, commonName: "client",
            extensions: leafExtensions + "extendedKeyUsage = clientAuth\n",
            purpose: "sslclient", names: [])
        let created = try run.commit()
        return (run.paths, created)
    }

    static let caExtensions = """
        basicConstraints = critical, CA:TRUE, pathlen:0
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash

        """

    static let leafExtensions = """
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """

    /// A subjectAltName entry of the server certificate.
    struct ServerName: Equatable {
        var isIP: Bool
        var value: String
        var entry: String { (isIP ? "IP:" : "DNS:") + value }
    }

    /// 127.0.0.1, localhost and `hostName` (lowercased, trailing dot dropped; left out when empty).
    static func serverNames(hostName: String) throws -> [ServerName] {
        var names = [ServerName(isIP: true, value: "127.0.0.1"), ServerName(isIP: false, value: "localhost")]
        var host = hostName.trimmingCharacters(in: .whitespaces)
        if host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { return names }
        let name: ServerName
        if isIPv4(host) {
            name = ServerName(isIP: true, value: host)
        } else if host.contains(":") {
            guard host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw DevelopmentCertificatesError.invalidHostName(hostName)
            }
            name = ServerName(isIP: true, value: host)
        } else {
            guard isDNSName(host) else { throw DevelopmentCertificatesError.invalidHostName(hostName) }
            name = ServerName(isIP: false, value: host.lowercased())
        }
        if !names.contains(name) { names.append(name) }
        return names
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                (1...3).contains(part.count) && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                    && Int(part).map { $0 <= 255 } == true
            }
    }

    static func isDNSName(_ s: String) -> Bool {
        guard s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
                && label.first != "-" && label.last != "-"
        }
    }
}
