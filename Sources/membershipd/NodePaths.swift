import Foundation

/// A node's state directory and every file membershipd keeps in it: one place for the names
/// `serve` writes and the operator CLI reads.
struct NodePaths: Equatable {
    /// The state directory (relative to the working directory, or absolute).
    let directory: String

    /// A development node's state directory, in the working directory.
    static let local = NodePaths(directory: "./local_files")
    /// The deployed unit's (`WorkingDirectory=/var/lib/unibus`).
    static let deployed = NodePaths(directory: "/var/lib/unibus/local_files")
    /// Where the CLI looks for a node record, in order: a development node, then a deployed one.
    static let searchOrder = [local, deployed]

    /// The SQLite allowlist (serve's default `--db`).
    var database: String { "\(directory)/unibus.db" }
    /// The JetStream store directory (serve's default `--nats-store`).
    var jetStream: String { "\(directory)/jetstream" }
    /// membershipd's internal identity, an nkey seed, 0600 (default `--internal-id-file`).
    var internalIdentity: String { "\(directory)/internal.id" }
    /// The record `serve` writes for the CLI (``NodeRecord``).
    var nodeRecord: String { "\(directory)/node.json" }
    /// The nats-server config membershipd renders (0600).
    var natsConfig: String { "\(directory)/nats-server.conf" }
    /// nats-server's pid file.
    var natsPidFile: String { "\(directory)/nats-server.pid" }
    /// Development TLS material (`ca.crt`, `server.crt`, `client.crt` and their keys).
    var tlsDirectory: String { "\(directory)/tls" }
    /// The development CA, which signed the node's server certificate.
    var caCertificate: String { "\(tlsDirectory)/ca.crt" }
    /// The development operator client certificate and its key.
    var clientCertificate: String { "\(tlsDirectory)/client.crt" }
    var clientKey: String { "\(tlsDirectory)/client.key" }

    /// The same paths, absolute (as `serve` records and passes them to nats-server).
    var absolute: NodePaths { NodePaths(directory: Self.absolute(directory)) }

    /// `path` made absolute against the working directory, `.` and `..` resolved.
    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
}
