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

/// Why development TLS material could not be made or reused. `description` is one
/// operator-readable line saying what is wrong and what to do.
public enum DevelopmentCertificatesError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The openssl executable was not found (the name or path asked for).
    case opensslNotFound(String)
    /// openssl ran and failed: its subcommand, exit status and standard error.
    case opensslFailed(command: String, status: Int32, stderr: String)
    /// A file or directory could not be created, changed or moved.
    case fileSystem(path: String, reason: String)
    /// A private key file is accessible by group or others (its mode).
    case insecureKey(path: String, mode: Int)
    /// A private key file exists but openssl cannot read it.
    case unreadableKey(path: String)
    /// `ca.crt` exists without `ca.key`, so nothing can be signed.
    case caKeyMissing(certificate: String, key: String)
    /// The host name cannot be put in a certificate.
    case invalidHostName(String)

    public var description: String {
        switch self {
        case .opensslNotFound(let name):
            return "openssl not found (looked for '\(name)' on PATH and at /usr/bin/openssl); install it "
                + "(Debian/Ubuntu: apt-get install openssl) or give TLS material with --tls-cert, --tls-key and --tls-ca"
        case .opensslFailed(let command, let status, let stderr):
            let detail = stderr.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .prefix(4).joined(separator: "; ")
            return "openssl \(command) failed (exit \(status))" + (detail.isEmpty ? "" : ": \(detail)")
        case .fileSystem(let path, let reason):
            return "cannot write TLS material at \(path): \(reason)"
        case .insecureKey(let path, let mode):
            return "\(path) is accessible by group or others (mode 0\(String(mode, radix: 8))); run: chmod 600 \(path)"
        case .unreadableKey(let path):
            return "\(path) is not a readable private key; fix it, or remove it to have a new key created"
        case .caKeyMissing(let certificate, let key):
            return "\(certificate) exists but \(key) is missing: restore the key, or remove \(certificate) "
                + "to create a new development CA (certificates issued by the old one stop verifying)"
        case .invalidHostName(let name):
            return "host name '\(name)' cannot be named in a certificate; fix the host name "
                + "or give TLS material with --tls-cert, --tls-key and --tls-ca"
        }
    }
}

// MARK: - One ensure() run

extension DevelopmentCertificates {
    /// The state of one `ensure` call: new files are written to a private staging directory
    /// inside `paths.directory` and renamed into place together by `commit()`.
    struct Run {
        let paths: Paths
        let openssl: OpenSSL
        let fileManager = FileManager.default
        private var stage: URL?
        /// File names staged for `commit()`, in order.
        private var staged: [String] = []
        /// The CA certificate and key to sign with (staged or existing).
        private var caCert: URL?
        private var caKey: URL?

        init(paths: Paths, openssl: OpenSSL) {
            self.paths = paths
            self.openssl = openssl
        }

        func makeDirectory() throws {
            let path = paths.directory.path
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw DevelopmentCertificatesError.fileSystem(path: path, reason: "not a directory")
                }
                return
            }
            do {
                try fileManager.createDirectory(
                    at: paths.directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
            } catch {
                throw DevelopmentCertificatesError.fileSystem(path: path, reason: Self.reason(error))
            }
        }

        mutating func ensureCA() throws {
            let keyExists = exists(paths.caKey)
            if exists(paths.caCert) && !keyExists {
                throw DevelopmentCertificatesError.caKeyMissing(
                    certificate: paths.caCert.path, key: paths.caKey.path)
            }
            let (key, newKey) = try ensureKey(paths.caKey)
            caKey = key
            let cert = paths.caCert
            var reissue = newKey || !exists(cert)
            if !reissue {
                reissue = try !caIsCurrent(cert: cert, key: key)
            }
            if reissue {
                let staged = try stageFile("ca.crt")
                try issue(
                    cert: staged, key: key, commonName: "unibus client CA",
                    extensions: DevelopmentCertificates.caExtensions,
                    days: DevelopmentCertificates.caValidityDays, signer: nil)
                caCert = staged
            } else {
                caCert = cert
            }
        }

        mutating func ensureLeaf(
            cert: URL, key keyPath: URL, commonName: String, extensions: String,
            purpose: String, names: [ServerName]
        ) throws {
            guard let caCert, let caKey else { preconditionFailure("ensureCA() runs first") }
            let (key, newKey) = try ensureKey(keyPath)
            var reissue = newKey || !exists(cert)
            if !reissue {
                reissue = try !leafIsCurrent(cert: cert, key: key, caCert: caCert, purpose: purpose, names: names)
            }
            if reissue {
                let staged = try stageFile(cert.lastPathComponent)
                try issue(
                    cert: staged, key: key, commonName: commonName,
                    extensions: extensions, days: DevelopmentCertificates.leafValidityDays,
                    signer: (caCert, caKey))
            }
        }

        /// Matches its key, is a CA certificate, and stays valid past the renewal margin.
        private func caIsCurrent(cert: URL, key: URL) throws -> Bool {
            guard try publicKey(ofCertificate: cert) == publicKey(ofKey: key) else { return false }
            let text = try openssl.output(["x509", "-in", cert.path, "-noout", "-text"]) ?? ""
            guard text.contains("CA:TRUE") else { return false }
            let margin = String(DevelopmentCertificates.renewalMarginDays * 86_400)
            return try openssl.succeeds(["x509", "-in", cert.path, "-noout", "-checkend", margin])
        }

        /// Matches its key, chains to the CA for `purpose`, stays valid past the renewal
        /// margin, and covers every name.
        private func leafIsCurrent(
            cert: URL, key: URL, caCert: URL, purpose: String, names: [ServerName]
        ) throws -> Bool {
            guard try publicKey(ofCertificate: cert) == publicKey(ofKey: key) else { return false }
            let attime = Int(Date().timeIntervalSince1970) + DevelopmentCertificates.renewalMarginDays * 86_400
            let verify = ["verify", "-CAfile", caCert.path]
            guard try openssl.succeeds(verify + ["-purpose", purpose, "-attime", String(attime), cert.path])
            else { return false }
            for name in names {
                let check = name.isIP ? "-verify_ip" : "-verify_hostname"
                guard try openssl.succeeds(verify + [check, name.value, cert.path]) else { return false }
            }
            return true
        }

        /// The key to use for `path`: the existing one (checked private and readable) or a new
        /// one in the stage. Returns its path and whether it is new.
        private mutating func ensureKey(_ path: URL) throws -> (URL, Bool) {
            if exists(path) {
                let resolved = path.resolvingSymlinksInPath().path
                let mode: Int
                do {
                    let attributes = try fileManager.attributesOfItem(atPath: resolved)
                    mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
                } catch {
                    throw DevelopmentCertificatesError.fileSystem(path: path.path, reason: Self.reason(error))
                }
                guard mode & 0o077 == 0 else {
                    throw DevelopmentCertificatesError.insecureKey(path: path.path, mode: mode & 0o7777)
                }
                guard try publicKey(ofKey: path) != nil else {
                    throw DevelopmentCertificatesError.unreadableKey(path: path.path)
                }
                return (path, false)
            }
            let staged = try stageFile(path.lastPathComponent)
            try openssl.run([
                "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-pkeyopt", "ec_param_enc:named_curve", "-out", staged.path,
            ])
            try setMode(0o600, staged)
            return (staged, true)
        }

        /// Writes a certificate for `key` to `cert`; self-signed when `signer` is nil.
        private func issue(
            cert: URL, key: URL, commonName: String, extensions: String, days: Int,
            signer: (cert: URL, key: URL)?
        ) throws {
            guard let stage else { preconditionFailure("stageFile() runs first") }
            let config = stage.appendingPathComponent("issue.cnf")
            let request = stage.appendingPathComponent("issue.csr")
            defer {
                try? fileManager.removeItem(at: config)
                try? fileManager.removeItem(at: request)
            }
            let text = "[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nCN = \(commonName)\n[ext]\n\(extensions)"
            do {
                try text.write(to: config, atomically: false, encoding: .utf8)
            } catch {
                throw DevelopmentCertificatesError.fileSystem(path: config.path, reason: Self.reason(error))
            }
            try openssl.run(["req", "-new", "-config", config.path, "-key", key.path, "-out", request.path])
            var arguments = ["x509", "-req", "-in", request.path]
            if let signer {
                arguments += ["-CA", signer.cert.path, "-CAkey", signer.key.path]
            } else {
                arguments += ["-signkey", key.path]
            }
            arguments += [
                "-days", String(days), "-sha256", "-set_serial", Self.randomSerial(),
                "-extfile", config.path, "-extensions", "ext", "-out", cert.path,
            ]
            try openssl.run(arguments)
            try setMode(0o644, cert)
        }

        /// Renames every staged file into the directory (keys first). True when anything moved.
        mutating func commit() throws -> Bool {
            guard let stage, !staged.isEmpty else { return false }
            try setMode(0o700, paths.directory)
            for name in staged.sorted(by: { $0.hasSuffix(".key") && !$1.hasSuffix(".key") }) {
                let from = stage.appendingPathComponent(name).path
                let to = paths.directory.appendingPathComponent(name).path
                guard rename(from, to) == 0 else {
                    throw DevelopmentCertificatesError.fileSystem(
                        path: to, reason: String(cString: strerror(errno)))
                }
            }
            staged = []
            return true
        }

        /// Removes the staging directory and anything left in it.
        func discardStage() {
            if let stage { try? fileManager.removeItem(at: stage) }
        }

        /// A path in the private staging directory (created 0700 on first use) for `name`.
        private mutating func stageFile(_ name: String) throws -> URL {
            let stage: URL
            if let existing = self.stage {
                stage = existing
            } else {
                stage = paths.directory.appendingPathComponent(".unibus-dev-certs-\(UUID().uuidString)")
                do {
                    try fileManager.createDirectory(
                        at: stage, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                    self.stage = stage
                    try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: stage.path)
                } catch {
                    throw DevelopmentCertificatesError.fileSystem(path: stage.path, reason: Self.reason(error))
                }
            }
            if !staged.contains(name) { staged.append(name) }
            return stage.appendingPathComponent(name)
        }

        private func publicKey(ofKey key: URL) throws -> String? {
            try openssl.output(["pkey", "-in", key.path, "-pubout"])
        }

        private func publicKey(ofCertificate cert: URL) throws -> String? {
            try openssl.output(["x509", "-in", cert.path, "-noout", "-pubkey"])
        }

        private func exists(_ url: URL) -> Bool {
            fileManager.fileExists(atPath: url.path)
        }

        private func setMode(_ mode: Int, _ url: URL) throws {
            do {
                try fileManager.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
            } catch {
                throw DevelopmentCertificatesError.fileSystem(path: url.path, reason: Self.reason(error))
            }
        }

        private static func randomSerial() -> String {
            var generator = SystemRandomNumberGenerator()
            // 127 random bits: positive, at most 16 octets.
            let high = generator.next() >> 1
            let low = generator.next()
            return "0x" + String(format: "%016llx%016llx", high, low)
        }

        private static func reason(_ error: any Error) -> String {
            (error as NSError).localizedDescription
        }
    }

    /// Runs the openssl CLI: no shell, stdin from /dev/null, arguments are paths and options only.
    struct OpenSSL {
        let executable: URL

        /// `name` is a path when it contains "/", else it is looked up on PATH, then /usr/bin.
        init(locating name: String) throws {
            let fileManager = FileManager.default
            var candidates: [String] = []
            if name.contains("/") {
                candidates = [name]
            } else {
                let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
                candidates = path.split(separator: ":").map { "\($0)/\(name)" } + ["/usr/bin/\(name)"]
            }
            guard
                let found = candidates.first(where: { candidate in
                    var isDirectory: ObjCBool = false
                    return fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory)
                        && !isDirectory.boolValue && fileManager.isExecutableFile(atPath: candidate)
                })
            else {
                throw DevelopmentCertificatesError.opensslNotFound(name)
            }
            executable = URL(fileURLWithPath: found)
        }

        /// Runs and throws `opensslFailed` unless it exits 0.
        func run(_ arguments: [String]) throws {
            let result = try execute(arguments)
            guard result.status == 0 else {
                throw DevelopmentCertificatesError.opensslFailed(
                    command: arguments.first ?? "", status: result.status, stderr: result.stderr)
            }
        }

        /// True when it exits 0.
        func succeeds(_ arguments: [String]) throws -> Bool {
            try execute(arguments).status == 0
        }

        /// Its standard output when it exits 0, else nil.
        func output(_ arguments: [String]) throws -> String? {
            let result = try execute(arguments)
            return result.status == 0 ? result.stdout : nil
        }

        private func execute(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            do {
                try process.run()
            } catch {
                throw DevelopmentCertificatesError.opensslFailed(
                    command: arguments.first ?? "", status: -1,
                    stderr: "cannot run \(executable.path): \((error as NSError).localizedDescription)")
            }
            // openssl's output here is a few hundred bytes, well under a pipe's buffer, so reading
            // one stream to its end before the other cannot block the child.
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }
    }
}
