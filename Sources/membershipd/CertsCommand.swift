import ArgumentParser
import Foundation
import UnibusSupervisor

/// `membershipd certs …`: the TLS material of a node or a cluster, made in Swift (no openssl).
/// Safe to re-run: keys are never replaced, a CA is never overwritten and a certificate never
/// re-issued with other names without `--force`.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make TLS material: a cluster's CAs and node certificates, user client certificates, development material.",
        discussion: "Keys are ECDSA P-256 (mode 0600), certificates 0644, directories 0700.",
        subcommands: [Cluster.self, Client.self, Dev.self])

    struct Cluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Client CA, route CA, and per node: server and route certificates, internal identity, route password.",
            discussion: """
                Writes into --out: ca.crt/ca.key (client CA), <node>/{server.crt,server.key,ca.crt,internal.id}, \
                routes/{route-ca.crt,route-ca.key,<node>.crt,<node>.key,route.pass}. Node names and hosts come from \
                --env. Keep ca.key and routes/route-ca.key on this machine; nodes never need them.
                """)
        @Option(help: "The cluster's nodes.env.") var env = "cluster/nodes.env"
        @Option(help: "Output directory (keep it out of git; cluster/pki is ignored).") var out = "cluster/pki"
        @Flag(help: "Replace both CAs, every key and certificate, and the route password.") var force = false

        func run() async throws {
            let nodes = try ClusterNodes.read(env)
            for line in try ClusterMaterial.ensure(nodes, in: out, force: force) { print(line) }
        }
    }

    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A client certificate (a user's or an operator's) issued by the client CA.",
            discussion: "Writes <out>/<name>.crt and <name>.key. Touches nothing else: no server certificate is re-issued.")
        @Option(help: "Common name: the user's handle, or operator.") var name: String
        @Option(name: .customLong("ca-dir"), help: "Directory holding the client CA (ca.crt and ca.key).") var caDirectory = "cluster/pki"
        @Option(help: "Where to write the certificate and key (default: --ca-dir/clients).") var out: String?
        @Option(help: "Validity in days.") var days = LeafCertificate.defaultDays
        @Flag(help: "Replace an existing key and certificate of that name.") var force = false

        func validate() throws {
            guard name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw BadValue("--name may hold only letters, digits, '-', '_' and '.', at most 64")
            }
            guard (1...3650).contains(days) else { throw BadValue("--days \(days) is out of range: give 1...3650") }
        }

        func run() async throws {
            let ca = try CertificateAuthority.load(KeyPairFiles(directory: caDirectory, name: "ca"))
            let directory = out ?? "\(caDirectory)/clients"
            try KeyPairFiles.makeDirectory(directory)
            let files = KeyPairFiles(directory: directory, name: name)
            let outcome = try LeafCertificate.ensure(files, profile: .client(name), ca: ca, days: days, policy: force ? .replace : .refuseChanges)
            print("\(outcome.rawValue) \(files.certificate) and \(files.key) (client \(name), CA \(ca.files.certificate))")
        }
    }

    struct Dev: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Development material for a single node: client CA, server certificate, client certificates.",
            discussion: """
                The same files serve makes on loopback when no TLS flags are given. The server certificate \
                covers 127.0.0.1, localhost, the host name and every --san. Existing keys are kept; a \
                certificate that is missing, expiring or covers other names is re-issued for its key.
                """)
        @Option(help: "Output directory.") var out = NodePaths.local.tlsDirectory
        @Option(help: "Another name the server certificate covers (DNS name or IP address; repeatable).") var san: [String] = []
        @Option(help: "Client certificate to make (repeatable; default: client).") var client: [String] = []
        @Option(help: "Validity of server and client certificates in days.") var days = LeafCertificate.defaultDays
        @Option(name: .customLong("ca-days"), help: "Validity of the CA certificate in days.") var caDays = CertificateAuthority.defaultDays
        @Flag(help: "Replace every key and certificate, the CA included.") var force = false

        func validate() throws {
            guard (1...3650).contains(days) else { throw BadValue("--days \(days) is out of range: give 1...3650") }
            guard (1...36500).contains(caDays) else { throw BadValue("--ca-days \(caDays) is out of range: give 1...36500") }
        }

        func run() async throws {
            let (paths, created) = try DevelopmentCertificates.ensure(
                in: URL(fileURLWithPath: out), extraNames: san, clients: client.isEmpty ? ["client"] : client, days: days, caDays: caDays,
                force: force)
            print("\(created ? "wrote" : "kept") TLS material in \(paths.directory.path)")
        }
    }
}
