import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor
import UnibusTestSupport

/// The cluster procedure of cluster/README.md ("Upgrading a cluster to accounts"), step by step,
/// on three real nodes: an R3 allowlist written by a version before accounts (buckets in `$G`)
/// is exported, the upgraded nodes refuse to start on the old store, start on a fresh one, and
/// `migrate-to-kv` brings every record back.
@Suite("upgrade: a cluster from before accounts, by export and migrate-to-kv", .serialized)
struct ClusterUpgradeTests {
    let dirs = (1...3).map { _ in TempDirectory("unibus-test-upgrade-cluster") }

    /// Three nats-servers as earlier versions rendered them: JetStream in `$G`, TLS, the internal identity.
    func legacyCluster() async throws -> [NatsServer] {
        let routePorts = (0..<3).map { _ in FreePort.next() }
        let routes = routePorts.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
        return try await dirs.enumerated().asyncMap { i, dir in
            let tls = dir.file("local_files/tls")
            _ = try DevelopmentCertificates.ensure(in: URL(fileURLWithPath: tls))
            let identity = try InternalIdentityFile.loadOrCreate(dir.file("local_files/internal.id")).keyPair
            return try await NatsServer(
                config: """
                    server_name: n\(i + 1)
                    tls { cert_file: "\(tls)/server.crt", key_file: "\(tls)/server.key", ca_file: "\(tls)/ca.crt", verify: true }
                    jetstream { store_dir: "\(dir.file("local_files/jetstream"))" }
                    cluster { name: unibus-test, listen: 127.0.0.1:\(routePorts[i]), routes: [\(routes)] }
                    authorization { users = [ { nkey: "\(identity.nkey)" } ] }

                    """, in: dir, name: "legacy-n\(i + 1)", executable: NatsServerBinaries.debian)
        }
    }

    func kvFlags(_ dir: TempDirectory, port: Int) -> [String] {
        [
            "--nats-url", "nats://127.0.0.1:\(port)", "--ca", dir.file("local_files/tls/ca.crt"),
            "--internal-id-file", dir.file("local_files/internal.id"),
        ]
    }

    @Test("export, refuse the old store, start fresh, migrate-to-kv: every record is back and users connect")
    func clusterUpgrade() async throws {
        let bob = Fixture.keyPair(2), eve = Fixture.keyPair(3)
        let legacy = try await legacyCluster()
        let flags = kvFlags(dirs[0], port: legacy[0].port)
        // What the old serve did at start: create the buckets at R3 (this version's CLI never creates them).
        let tls = dirs[0].file("local_files/tls")
        var bootstrap = NatsConnectOptions(servers: ["tls://127.0.0.1:\(legacy[0].port)"], name: "legacy-serve", timeout: .seconds(3))
        bootstrap.tls = NatsTLSFiles(caFile: "\(tls)/ca.crt", certFile: "\(tls)/client.crt", keyFile: "\(tls)/client.key")
        let identity = try InternalIdentityFile.load(dirs[0].file("local_files/internal.id"))
        bootstrap.nkey = NatsNKeyCredentials(publicKey: identity.nkey, seed: try NatsNKeySeed(identity.seed))
        #expect(
            await eventually(timeout: .seconds(30)) {
                (try? await KVAllowlistStore.connect(bootstrap, configuration: KVStoreConfiguration(replicas: 3))) != nil
            })
        // Writes through the old cluster (the CLI of this version speaks to it: same identity, same buckets).
        for (handle, pair, role) in [("ana", Fixture.keyPair(1), "admin"), ("bob", bob, "member"), ("eve", eve, "member")] {
            var added: CLIResult?
            _ = await eventually(timeout: .seconds(30)) {
                added = try? await CLI.run(
                    ["user", "add", "--handle", handle, "--sign-pub", pair.signPub.hex, "--role", role, "--store", "kv", "--kv-replicas", "3"]
                        + flags)
                return added?.status == 0
            }
            #expect(added?.status == 0, "\(String(describing: added))")
        }
        #expect(try await CLI.run(["user", "revoke", "eve", "--store", "kv"] + flags).status == 0)
        let before = try await CLI.run(["user", "list", "--json", "--store", "kv"] + flags).stdout

        // 1. export while the old cluster still runs
        let backup = dirs[0].file("pre-accounts.db")
        let export = try await CLI.run(["export", "--db", backup] + flags)
        #expect(export.status == 0 && export.stdout.contains("UNIBUS_users: 3 copied"), "\(export)")
        // 2. stop every node; 3. the upgraded node refuses to start on the old store, touching nothing
        for server in legacy { await server.stop() }
        let refused = try await ServeFixture(
            natsServer: NatsServerBinaries.debian, arguments: clusterArguments(0, ports: [1, 2, 3]), directory: dirs[0])
        #expect(await eventually(timeout: .seconds(15)) { !refused.isRunning })
        #expect(await refused.stop() == 1)
        #expect(await eventually(timeout: .seconds(5)) { refused.log.contains("Upgrading a cluster to accounts") }, "\(refused.log)")
        // 4. move each node's JetStream store aside and start the upgraded cluster
        for dir in dirs {
            try FileManager.default.moveItem(atPath: dir.file("local_files/jetstream"), toPath: dir.file("local_files/jetstream.pre-accounts"))
        }
        let ports = (0..<3).map { _ in FreePort.next() }
        let nodes = try await (0..<3).asyncMap { i in
            try await ServeFixture(natsServer: NatsServerBinaries.debian, arguments: clusterArguments(i, ports: ports), directory: dirs[i])
        }
        for node in nodes {
            try await node.waitUntilReady()
            guard await eventually(timeout: .seconds(40), { node.log.contains("KV allowlist open (replicas 3)") }) else {
                throw FixtureFailure("R3 KV never opened:\n\(node.log)")
            }
        }
        // 5. copy the export back
        let migrate = try await CLI.run(["migrate-to-kv", "--db", backup] + kvFlags(dirs[0], port: nodes[0].natsPort))
        #expect(migrate.status == 0 && migrate.stdout.contains("UNIBUS_users: 3 copied"), "\(migrate)")
        let after = try await CLI.run(["user", "list", "--json", "--store", "kv"] + kvFlags(dirs[0], port: nodes[0].natsPort)).stdout
        #expect(try Self.users(after) == Self.users(before), "before:\n\(before)\nafter:\n\(after)")
        // bob connects to node 3; eve stays revoked
        var connection: NatsConnection?
        _ = await eventually(timeout: .seconds(15)) {
            connection = try? await nodes[2].connect(bob, handle: "bob")
            return connection != nil
        }
        #expect(connection != nil, "\(nodes[2].log.suffix(2000))")
        await connection?.close()
        await #expect(throws: NatsError.self) { _ = try await nodes[2].connect(eve, handle: "eve") }
    }

    func clusterArguments(_ i: Int, ports: [Int]) -> [String] {
        [
            "--store", "kv", "--kv-replicas", "3", "--server-name", "n\(i + 1)", "--cluster-name", "unibus-test",
            "--cluster-port", "\(ports[i])", "--routes", ports.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ","),
        ]
    }

    /// handle → status, from `user list --json`.
    static func users(_ json: String) throws -> [String: String] {
        let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["handle"] as? String ?? "", $0["status"] as? String ?? "") })
    }
}
