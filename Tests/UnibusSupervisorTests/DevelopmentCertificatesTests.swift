import Foundation
import Testing
import UnibusSupervisor

/// Material made in Swift, checked with the `openssl` CLI as an independent verifier.
@Suite struct DevelopmentCertificatesTests {
    static let hostName = "unibus-test.example"

    @Test func createsSixFilesWithPrivateKeys() async throws {
        try await withTemporaryDirectory { root in
            let dir = root.appendingPathComponent("local_files/tls")
            let (paths, created) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            #expect(created)
            #expect(paths == DevelopmentCertificates.Paths(directory: dir))
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            #expect(names == ["ca.crt", "ca.key", "client.crt", "client.key", "server.crt", "server.key"])
            for key in [paths.caKey, paths.serverKey, paths.clientKey] {
                #expect(try mode(key) == 0o600, "\(key.lastPathComponent)")
            }
            for cert in [paths.caCert, paths.serverCert, paths.clientCert] {
                #expect(try mode(cert) == 0o644, "\(cert.lastPathComponent)")
            }
            #expect(try mode(dir) == 0o700)
        }
    }

    @Test func certificatesVerifyAgainstTheCA() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            let ca = paths.caCert.path
            #expect(try await openssl(["verify", "-CAfile", ca, paths.serverCert.path]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", ca, paths.clientCert.path]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", paths.serverCert.path]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", paths.clientCert.path]).status == 0)
            // The client certificate is for clients only.
            #expect(try await openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", paths.clientCert.path]).status != 0)
            let key = try await openssl(["pkey", "-in", paths.serverKey.path, "-noout", "-text"]).stdout
            #expect(key.contains("prime256v1"))
        }
    }

    @Test func serverCertificateCoversLoopbackAndHostName() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: "Unibus-Test.Example.")
            let text = try await openssl(["x509", "-in", paths.serverCert.path, "-noout", "-text"]).stdout
            #expect(text.contains("IP Address:127.0.0.1"))
            #expect(text.contains("DNS:localhost"))
            #expect(text.contains("DNS:unibus-test.example"))
            #expect(text.contains("TLS Web Server Authentication"))
            let client = try await openssl(["x509", "-in", paths.clientCert.path, "-noout", "-subject", "-text"]).stdout
            #expect(client.contains("CN = client") || client.contains("CN=client"))
            #expect(client.contains("TLS Web Client Authentication"))
            #expect(!client.contains("TLS Web Server Authentication"))
        }
    }

    @Test func secondCallReusesEverything() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, created) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            #expect(created)
            let before = try snapshot(paths)
            let again = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            #expect(again.created == false)
            #expect(again.paths == paths)
            #expect(try snapshot(paths) == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 6)
        }
    }

    @Test func missingServerCertificateIsReissuedForTheSameKey() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            let before = try snapshot(paths)
            try FileManager.default.removeItem(at: paths.serverCert)
            let again = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            #expect(again.created)
            let after = try snapshot(paths)
            for file in ["ca.crt", "ca.key", "server.key", "client.crt", "client.key"] {
                #expect(after[file] == before[file], "\(file)")
            }
            #expect(try await openssl(["verify", "-CAfile", paths.caCert.path, paths.serverCert.path]).status == 0)
        }
    }

    @Test func newHostNameReissuesTheServerCertificateOnly() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            let before = try snapshot(paths)
            let again = try DevelopmentCertificates.ensure(in: dir, hostName: "renamed-host")
            #expect(again.created)
            let after = try snapshot(paths)
            #expect(after["server.crt"] != before["server.crt"])
            #expect(after["server.key"] == before["server.key"])
            #expect(after["ca.key"] == before["ca.key"])
            let text = try await openssl(["x509", "-in", paths.serverCert.path, "-noout", "-text"]).stdout
            #expect(text.contains("DNS:renamed-host"))
        }
    }

    @Test func refusesAKeyReadableByOthers() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: paths.clientKey.path)
            #expect(throws: PKIError.insecureKey(path: paths.clientKey.path, mode: 0o644)) {
                try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            }
            let message = PKIError.insecureKey(path: paths.clientKey.path, mode: 0o644).description
            #expect(message.contains("chmod 600 \(paths.clientKey.path)"))
        }
    }

    @Test func refusesACACertificateWithoutItsKey() async throws {
        try await withTemporaryDirectory { dir in
            let (paths, _) = try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            try FileManager.default.removeItem(at: paths.caKey)
            #expect(
                throws: PKIError.keyMissing(
                    certificate: paths.caCert.path, key: paths.caKey.path)
            ) {
                try DevelopmentCertificates.ensure(in: dir, hostName: Self.hostName)
            }
        }
    }

    @Test func refusesAnInvalidHostName() async throws {
        try await withTemporaryDirectory { dir in
            #expect(throws: PKIError.invalidName("bad host,name")) {
                try DevelopmentCertificates.ensure(in: dir, hostName: "bad host,name")
            }
        }
    }
}

// MARK: - Helpers

private func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("unibus-devcerts-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try await body(dir)
}

private func mode(_ url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    return ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
}

/// File name → contents and modification date, for the six files.
private func snapshot(_ paths: DevelopmentCertificates.Paths) throws -> [String: String] {
    var result: [String: String] = [:]
    for url in [paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.clientCert, paths.clientKey] {
        let data = try Data(contentsOf: url)
        let date = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
        result[url.lastPathComponent] = data.base64EncodedString() + "@" + String(date?.timeIntervalSince1970 ?? 0)
    }
    return result
}
