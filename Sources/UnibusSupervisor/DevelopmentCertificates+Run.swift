import Foundation

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
}
