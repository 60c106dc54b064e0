import Foundation
import UnibusSupervisor

/// Where a node's store, certificates and identity are, so the operator CLI on the same machine
/// needs no flags: `serve` writes it to `<state dir>/node.json` (beside `membershipd.lock`) when it
/// starts, and `sudo membershipd user add …` reads it from any directory. Paths only, no secrets;
/// written 0600 like the files it names.
struct NodeRecord: Codable, Equatable {
    /// `sqlite` or `kv`.
    var store: StoreKind
    /// The SQLite allowlist (absolute; unused by a KV node).
    var db: String
    /// The node's client URL as the CLI dials it (`tls://HOST:PORT`).
    var natsURL: String
    /// CA of the node's server certificate, and the client certificate membershipd presents.
    var ca: String
    var clientCert: String
    var clientKey: String
    /// membershipd's internal identity (nkey seed, 0600).
    var internalIDFile: String
    var serverName: String
    var clusterName: String?

    enum CodingKeys: String, CodingKey {
        case store, db, ca
        case natsURL = "nats_url"
        case clientCert = "client_cert"
        case clientKey = "client_key"
        case internalIDFile = "internal_id_file"
        case serverName = "server_name"
        case clusterName = "cluster_name"
    }

    /// Writes the record into a node's state directory (``NodePaths/nodeRecord``).
    func write(to node: NodePaths) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try SecureFile.writeAtomically(String(decoding: try encoder.encode(self), as: UTF8.self) + "\n", to: node.nodeRecord)
    }
}

/// A record found on this machine, and whether its node is running now.
struct FoundNodeRecord {
    let record: NodeRecord
    let path: String
    /// The node holds its state directory's lock.
    let running: Bool

    /// The first record in ``NodePaths/searchOrder``; nil when there is none.
    /// - Throws: `ServeError.invalid` for a record that cannot be read (naming it).
    static func find(in nodes: [NodePaths] = NodePaths.searchOrder) throws -> FoundNodeRecord? {
        for node in nodes.map(\.absolute) {
            let path = node.nodeRecord
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let record: NodeRecord
            do {
                record = try JSONDecoder().decode(NodeRecord.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ServeError.invalid(
                    "cannot read the node record \(path) (\(error.localizedDescription)): run as root or the service user, or restart the node to rewrite it"
                )
            }
            return FoundNodeRecord(record: record, path: path, running: InstanceLock.isHeld(directory: node.directory))
        }
        return nil
    }
}
