import UnibusNats
import UnibusTestSupport

/// One node's place in a cluster of nats-servers with routes on loopback.
struct JetStreamClusterNode {
    var name = "unibus-test"
    var port: Int
    var routes: [Int]
}

extension NatsServer {
    /// A nats-server for the KV store tests: JetStream in the store dir `<directory>/js-<name>`
    /// (or disabled), optionally one node of a cluster.
    static func jetStream(
        in directory: TempDirectory, name: String = "n1", port: Int? = nil, jetStream: Bool = true,
        cluster: JetStreamClusterNode? = nil
    ) async throws -> NatsServer {
        var config = "server_name: \(name)\n"
        if jetStream {
            let storeDir = directory.file("js-\(name)")
            config += "jetstream { store_dir: \"\(storeDir)\", max_memory_store: 64MB, max_file_store: 1GB }\n"
        }
        if let cluster {
            let routes = cluster.routes.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
            config += "cluster { name: \(cluster.name), listen: 127.0.0.1:\(cluster.port), routes: [\(routes)] }\n"
        }
        return try await NatsServer(config: config, in: directory, name: name, port: port)
    }

    /// Options for a test client: no reconnects, so a stopped server fails calls at once.
    func options(name: String = "unibus-store-tests") -> NatsConnectOptions {
        var options = NatsConnectOptions(servers: [url], name: name)
        options.allowReconnect = false
        return options
    }
}

/// Three nodes with routes to each other on loopback.
final class JetStreamCluster: Sendable {
    let nodes: [NatsServer]

    /// Starts the nodes; if one cannot bind its cluster port (taken meanwhile), all are stopped
    /// and the cluster is started again on fresh ports (3 times).
    init(in directory: TempDirectory, size: Int = 3) async throws {
        var attempt = 1
        while true {
            let clusterPorts = (0..<size).map { _ in FreePort.next() }
            var started: [NatsServer] = []
            do {
                for index in 0..<size {
                    let routes = clusterPorts.enumerated().filter { $0.offset != index }.map(\.element)
                    started.append(
                        try await NatsServer.jetStream(
                            in: directory, name: "n\(index + 1)", cluster: .init(port: clusterPorts[index], routes: routes)))
                }
                nodes = started
                return
            } catch let error as FixtureError where error.portTaken && attempt < 3 {
                for node in started { await node.stop() }
                attempt += 1
            }
        }
    }

    func stop() async {
        for node in nodes { await node.stop() }
    }

    /// Starts ``stop()`` without waiting (for `defer`).
    func requestStop() { nodes.forEach { $0.requestStop() } }
}
