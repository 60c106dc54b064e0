import Foundation
import Testing
import UnibusSupervisor

/// `membershipd certs cluster|client`: the cluster's material, made in Swift and checked with the
/// `openssl` CLI as an independent verifier.
@Suite struct ClusterMaterialTests {
    static let env = """
        # test cluster
        CLUSTER_NAME=ubt
        NODE1_NAME=n1
        NODE1_HOST=10.231.0.11
        NODE2_NAME=n2
        NODE2_HOST=node2.example
        NODE3_NAME=n3
        NODE3_HOST=10.231.0.13
        SSH_USER=root
        """

    @Test func makesEveryFileWithPrivateKeysAndVerifiableChains() async throws {
        try await withCluster { nodes, dir in
            _ = try ClusterMaterial.ensure(nodes, in: dir)
            for key in ["ca.key", "routes/route-ca.key", "routes/route.pass", "n1/server.key", "n1/internal.id", "routes/n2.key"] {
                #expect(try mode("\(dir)/\(key)") == 0o600, "\(key)")
            }
            #expect(try mode("\(dir)/n1/server.crt") == 0o644)
            // Server certificates chain to the client CA and cover the node's host and 127.0.0.1.
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-purpose", "sslserver", "\(dir)/n2/server.crt"]).status == 0)
            #expect(
                try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-verify_hostname", "node2.example", "\(dir)/n2/server.crt"]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-verify_ip", "10.231.0.11", "\(dir)/n1/server.crt"]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-verify_ip", "127.0.0.1", "\(dir)/n1/server.crt"]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-verify_ip", "10.231.0.13", "\(dir)/n1/server.crt"]).status != 0)
            // Route certificates chain only to the route CA, for both ends of a route.
            for purpose in ["sslserver", "sslclient"] {
                #expect(
                    try await openssl(["verify", "-CAfile", "\(dir)/routes/route-ca.crt", "-purpose", purpose, "\(dir)/routes/n3.crt"]).status == 0)
            }
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "\(dir)/routes/n3.crt"]).status != 0)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/routes/route-ca.crt", "\(dir)/n3/server.crt"]).status != 0)
            #expect(try String(contentsOfFile: "\(dir)/n1/ca.crt", encoding: .utf8) == String(contentsOfFile: "\(dir)/ca.crt", encoding: .utf8))
            #expect(try String(contentsOfFile: "\(dir)/n1/internal.id", encoding: .utf8).hasPrefix("SU"))
        }
    }

    @Test func aSecondRunChangesNothing() async throws {
        try await withCluster { nodes, dir in
            _ = try ClusterMaterial.ensure(nodes, in: dir)
            let before = try contents(dir)
            let report = try ClusterMaterial.ensure(nodes, in: dir)
            #expect(report.allSatisfy { $0.hasPrefix("kept") }, "\(report)")
            #expect(try contents(dir) == before)
        }
    }

    @Test func aLeafIsNeverSilentlyReissuedWithOtherNames() async throws {
        try await withCluster { nodes, dir in
            _ = try ClusterMaterial.ensure(nodes, in: dir)
            let before = try contents(dir)
            let moved = try ClusterNodes.read(try envFile(dir, Self.env.replacingOccurrences(of: "10.231.0.13", with: "10.231.0.99")))
            #expect {
                try ClusterMaterial.ensure(moved, in: dir)
            } throws: { error in
                "\(error)".contains("covers IP:10.231.0.13") && "\(error)".contains("--force")
            }
            #expect(try contents(dir).filter { !$0.key.hasPrefix("nodes.env") } == before.filter { !$0.key.hasPrefix("nodes.env") })
            // --force replaces everything, the CAs included.
            _ = try ClusterMaterial.ensure(moved, in: dir, force: true)
            #expect(try contents(dir)["ca.crt"] != before["ca.crt"])
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-verify_ip", "10.231.0.99", "\(dir)/n3/server.crt"]).status == 0)
        }
    }

    @Test func aClientCertificateTouchesNoServerCertificate() async throws {
        try await withCluster { nodes, dir in
            _ = try ClusterMaterial.ensure(nodes, in: dir)
            let before = try contents(dir)
            let ca = try CertificateAuthority.load(KeyPairFiles(directory: dir, name: "ca"))
            let files = KeyPairFiles(directory: "\(dir)/clients", name: "alice")
            try FileManager.default.createDirectory(atPath: "\(dir)/clients", withIntermediateDirectories: true)
            #expect(try LeafCertificate.ensure(files, profile: .client("alice"), ca: ca, policy: .refuseChanges) == .created)
            #expect(try LeafCertificate.ensure(files, profile: .client("alice"), ca: ca, policy: .refuseChanges) == .kept)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-purpose", "sslclient", files.certificate]).status == 0)
            #expect(try await openssl(["verify", "-CAfile", "\(dir)/ca.crt", "-purpose", "sslserver", files.certificate]).status != 0)
            #expect(try mode(files.key) == 0o600)
            let after = try contents(dir)
            #expect(after.filter { !$0.key.hasPrefix("clients/") } == before)
        }
    }

    @Test func aCAIsNeverOverwrittenWithoutForce() async throws {
        try await withCluster { nodes, dir in
            _ = try ClusterMaterial.ensure(nodes, in: dir)
            try FileManager.default.removeItem(atPath: "\(dir)/ca.key")
            #expect(throws: PKIError.keyMissing(certificate: "\(dir)/ca.crt", key: "\(dir)/ca.key")) {
                try ClusterMaterial.ensure(nodes, in: dir)
            }
        }
    }

    @Test func placeholdersAndBadHostsAreRefused() async throws {
        try await withCluster { _, dir in
            #expect {
                try ClusterNodes.read(try envFile(dir, Self.env.replacingOccurrences(of: "NODE2_NAME=n2", with: "NODE2_NAME=<NODE2_NAME>")))
            } throws: { "\($0)".contains("line 5: NODE2_NAME=<NODE2_NAME>") }
            #expect(throws: PKIError.invalidName("bad host")) {
                try ClusterNodes.read(try envFile(dir, Self.env.replacingOccurrences(of: "node2.example", with: "bad host")))
            }
        }
    }
}

private func withCluster(_ body: (ClusterNodes, String) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unibus-pki-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try await body(try ClusterNodes.read(try envFile(dir, ClusterMaterialTests.env)), dir)
}

private func envFile(_ dir: String, _ text: String) throws -> String {
    let path = "\(dir)/nodes.env"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func mode(_ path: String) throws -> Int {
    ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
}

/// Relative path → contents, for every file under `dir`.
private func contents(_ dir: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    for case let file as String in FileManager.default.enumerator(atPath: dir)! {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "\(dir)/\(file)", isDirectory: &isDirectory), !isDirectory.boolValue {
            result[file] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)"))
        }
    }
    return result
}
