import ArgumentParser
import Foundation
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor

/// How an operator command reaches a running node's JetStream KV (contract: KV).
struct KVOptions: ParsableArguments {
    static let defaultURL = "nats://127.0.0.1:4250"

    @Option(name: .customLong("nats-url"), help: "A node's NATS URL (default: this machine's node, else \(defaultURL)).")
    var natsURL: String?
    @Option(
        name: .customLong("internal-id-file"),
        help: "membershipd's internal identity, nkey seed, mode 0600 (default: this machine's node's, else \(NodePaths.local.internalIdentity)).")
    var internalIDFile: String?
    @Option(help: "CA of the node's server certificate (default: this machine's node's, else \(NodePaths.local.caCertificate) on loopback).")
    var ca: String?
    @Option(name: .customLong("client-cert"), help: "Client certificate to present (default: the node's, else client.crt beside the CA).")
    var clientCert: String?
    @Option(name: .customLong("client-key"), help: "Its key, mode 0600 (default: the node's, else client.key beside the CA).")
    var clientKey: String?
    @Option(
        name: .customLong("kv-replicas"),
        help: "Replicas the buckets must have (checked, never changed: only serve creates buckets).")
    var kvReplicas: Int?

    /// What the operator left out, taken from this machine's KV node (`serve` records it).
    func completed(by record: NodeRecord?) -> KVOptions {
        guard let record, record.store == .kv, natsURL == nil else { return self }
        var options = self
        options.natsURL = record.natsURL
        options.ca = ca ?? record.ca
        options.clientCert = clientCert ?? record.clientCert
        options.clientKey = clientKey ?? record.clientKey
        options.internalIDFile = internalIDFile ?? record.internalIDFile
        return options
    }

    /// These options completed by this machine's node record, if there is one.
    func resolved() throws -> KVOptions { completed(by: try FoundNodeRecord.find()?.record) }

    /// Connection options as membershipd's internal identity, over TLS.
    /// - Throws: a non-loopback URL without --ca; an unreadable or too-open identity file.
    func connectOptions(name: String) throws -> NatsConnectOptions {
        let natsURL = natsURL ?? Self.defaultURL
        guard let url = URL(string: natsURL), let host = url.host, ["nats", "tls"].contains(url.scheme ?? "") else {
            throw ServeError.invalid("--nats-url must look like nats://HOST:PORT, not '\(natsURL)'")
        }
        guard ca != nil || Loopback.isLoopback(host) else {
            throw ServeError.invalid("--nats-url \(natsURL) is not loopback: give --ca (the CA of that node's server certificate)")
        }
        if let kvReplicas, !(1...5).contains(kvReplicas) { throw ServeError.invalid("--kv-replicas must be from 1 to 5, not \(kvReplicas)") }
        let caFile = ca ?? NodePaths.local.caCertificate
        let dir = (caFile as NSString).deletingLastPathComponent
        let cert = clientCert ?? (dir.isEmpty ? "client.crt" : "\(dir)/client.crt")
        let key = clientKey ?? (dir.isEmpty ? "client.key" : "\(dir)/client.key")
        let fix = "the files of that node (its node.json names them), or run on the node"
        try OperatorFile.certificate(caFile, flag: ca == nil ? "the default --ca" : "--ca", fix: "the CA of the node's server certificate; \(fix)")
        try OperatorFile.certificate(
            cert, flag: clientCert == nil ? "the default --client-cert" : "--client-cert", fix: "a client certificate; \(fix)")
        try OperatorFile.privateKey(
            key, flag: clientKey == nil ? "the default --client-key" : "--client-key", fix: "the client certificate's key; \(fix)")
        let identityFile = internalIDFile ?? NodePaths.local.internalIdentity
        let identityFlag = internalIDFile == nil ? "the default --internal-id-file" : "--internal-id-file"
        let identityFix = "membershipd's internal identity of that node (an nkey seed, mode 0600); \(fix)"
        try OperatorFile.privateKey(identityFile, flag: identityFlag, fix: identityFix, pem: false)
        let identity: UserKeyPair
        do {
            identity = try InternalIdentityFile.load(identityFile)
        } catch SupervisorError.io(_, let reason) {
            throw ServeError.invalid("\(identityFlag) \(identityFile): \(reason): give \(identityFix)")
        }
        var options = NatsConnectOptions(servers: [natsURL.replacingOccurrences(of: "nats://", with: "tls://")], name: name, timeout: .seconds(3))
        options.tls = NatsTLSFiles(caFile: caFile, certFile: cert, keyFile: key)
        options.nkey = NatsNKeyCredentials(publicKey: identity.nkey, seed: try NatsNKeySeed(identity.seed))
        options.allowReconnect = false
        return options
    }

    /// Binds the live KV store of the node. It never creates buckets (only `serve` does): on a
    /// server without them it says so.
    /// - Parameter wait: how long one KV operation may take (bulk commands allow more).
    func open(name: String = "membershipd-cli", wait: Duration = .seconds(5)) async throws -> KVAllowlistStore {
        let options = try connectOptions(name: name)
        var connection: NatsConnection?
        // nats-server 2.9.10 may refuse a connection (even "Authorization Violation") while it
        // reloads the config membershipd just changed: a few tries over a second before failing.
        for attempt in 1...4 where connection == nil {
            do {
                connection = try await NatsConnection.connect(options)
            } catch {
                guard attempt < 4 else {
                    throw StoreError.unavailable(
                        "cannot reach nats-server at \(natsURL ?? Self.defaultURL): \(error.detail); check --nats-url and that membershipd serve runs there"
                    )
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        guard let connection else { throw StoreError.unavailable("no connection to \(natsURL ?? Self.defaultURL)") }
        let store = try await KVAllowlistStore(
            connection: connection, configuration: KVStoreConfiguration(replicas: kvReplicas ?? 1, wait: wait), createBuckets: false)
        if let kvReplicas, let existing = try? await store.replication(of: .users),
            existing.replicas != kvReplicas
        {
            throw ServeError.invalid(
                "the buckets have \(existing.replicas) replica\(existing.replicas == 1 ? "" : "s"), not --kv-replicas \(kvReplicas): "
                    + "a command never changes them (serve creates buckets with its own --kv-replicas)")
        }
        return store
    }
}

/// Prints a bucket's replication, as operators want to see it after a write.
enum ReplicationReport {
    static func line(_ store: any ReplicatedAllowlistStore, _ bucket: KVAllowlistStore.Bucket) async -> String {
        do {
            return ClusterReport.Bucket(try await store.replication(of: bucket)).line
        } catch {
            return "\(bucket.rawValue): replication status unavailable (\(error))"
        }
    }
}
