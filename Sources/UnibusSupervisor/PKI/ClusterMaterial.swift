public import Foundation

/// The three nodes of a cluster, as `cluster/nodes.env` describes them.
public struct ClusterNodes: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public let name: String
        public let host: SubjectName
    }

    public let clusterName: String
    public let nodes: [Node]

    /// Reads `KEY=VALUE` lines (comments and blank lines ignored; no shell expansion).
    /// - Throws: `PKIError.nodesFile` naming every `<PLACEHOLDER>` left or key missing.
    public static func read(_ path: String) throws(PKIError) -> ClusterNodes {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .fileSystem(path: path, reason: "cannot read it")
        }
        var values: [String: String] = [:]
        var placeholders: [String] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == value.last, value.first == "\"" || value.first == "'" { value = String(value.dropFirst().dropLast()) }
            if value.hasPrefix("<") && value.hasSuffix(">") { placeholders.append("line \(number + 1): \(key)=\(value)") }
            values[key] = value
        }
        guard placeholders.isEmpty else {
            throw .nodesFile(path: path, reason: "fill in every <PLACEHOLDER> first (\(placeholders.joined(separator: "; ")))")
        }
        func value(_ key: String) throws(PKIError) -> String {
            guard let v = values[key], !v.isEmpty else { throw .nodesFile(path: path, reason: "\(key) is missing") }
            return v
        }
        var nodes: [Node] = []
        for i in 1...3 {
            let name = try value("NODE\(i)_NAME")
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw .nodesFile(path: path, reason: "NODE\(i)_NAME '\(name)' may hold only letters, digits, '-' and '_'")
            }
            nodes.append(Node(name: name, host: try SubjectName(try value("NODE\(i)_HOST"))))
        }
        guard Set(nodes.map(\.name)).count == 3 else { throw .nodesFile(path: path, reason: "the three node names must differ") }
        return ClusterNodes(clusterName: try value("CLUSTER_NAME"), nodes: nodes)
    }
}

/// Everything a 3-node cluster needs, in one directory (git-ignored `cluster/pki/`):
///
/// ```
/// ca.crt ca.key                      client CA (its key stays on the operator's machine)
/// <node>/server.crt server.key      the node's server certificate: its host and 127.0.0.1
/// <node>/ca.crt                      copy of the client CA certificate
/// <node>/internal.id                 membershipd's internal identity (nkey seed, 0600)
/// routes/route-ca.crt route-ca.key   the separate route CA
/// routes/<node>.crt <node>.key       route certificate (serverAuth + clientAuth)
/// routes/route.pass                  route password (0600)
/// ```
/// Safe to re-run: what exists is kept; a certificate that would change names, usage or CA is
/// refused unless `force` (which also replaces both CAs).
public enum ClusterMaterial {
    /// One line per file: what happened to it.
    public static func ensure(_ cluster: ClusterNodes, in directory: String, force: Bool = false) throws -> [String] {
        var report: [String] = []
        try KeyPairFiles.makeDirectory(directory)
        let policy: LeafCertificate.Policy = force ? .replace : .refuseChanges
        let (clientCA, clientOutcome) = try CertificateAuthority.ensure(
            KeyPairFiles(directory: directory, name: "ca"), commonName: "unibus client CA \(cluster.clusterName)", force: force)
        report.append("\(clientOutcome.rawValue) \(clientCA.files.certificate) (client CA)")
        let routes = "\(directory)/routes"
        try KeyPairFiles.makeDirectory(routes)
        let (routeCA, routeOutcome) = try CertificateAuthority.ensure(
            KeyPairFiles(directory: routes, name: "route-ca"), commonName: "unibus route CA \(cluster.clusterName)", force: force)
        report.append("\(routeOutcome.rawValue) \(routeCA.files.certificate) (route CA)")
        for node in cluster.nodes {
            let nodeDirectory = "\(directory)/\(node.name)"
            try KeyPairFiles.makeDirectory(nodeDirectory)
            let names = [node.host] + (node.host.value == "127.0.0.1" ? [] : [try SubjectName("127.0.0.1")])
            let server = try LeafCertificate.ensure(
                KeyPairFiles(directory: nodeDirectory, name: "server"), profile: .server(names: names), ca: clientCA, policy: policy)
            report.append("\(server.rawValue) \(nodeDirectory)/server.crt (\(names.map(\.description).joined(separator: ", ")))")
            try KeyPairFiles.write(
                try String(contentsOfFile: clientCA.files.certificate, encoding: .utf8), to: "\(nodeDirectory)/ca.crt", mode: 0o644)
            let (_, createdIdentity) = try InternalIdentityFile.loadOrCreate("\(nodeDirectory)/internal.id")
            report.append("\(createdIdentity ? "created" : "kept") \(nodeDirectory)/internal.id")
            let route = try LeafCertificate.ensure(
                KeyPairFiles(directory: routes, name: node.name), profile: .server(commonName: node.name, names: names), ca: routeCA,
                policy: policy)
            report.append("\(route.rawValue) \(routes)/\(node.name).crt (route)")
        }
        let password = "\(routes)/route.pass"
        if force || !FileManager.default.fileExists(atPath: password) {
            var bytes = [UInt8](repeating: 0, count: 24)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            try KeyPairFiles.write(bytes.map { String(format: "%02x", $0) }.joined() + "\n", to: password, mode: 0o600)
            report.append("created \(password)")
        } else {
            report.append("kept \(password)")
        }
        return report
    }
}
