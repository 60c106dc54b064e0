import Foundation
import UnibusNats
import UnibusTestSupport

/// A real nats-server child on 127.0.0.1 for the KV store tests: JetStream in a temp store
/// dir (or disabled), optionally one node of a cluster with routes on loopback. stderr is
/// drained (the server blocks when 64 KB of unread log fill the pipe) and the server is always
/// stopped with SIGINT (its clean exit) in ``stop()`` or `deinit`.
final class JetStreamServer: @unchecked Sendable {
    // @unchecked: `process` is only touched from init, stop and kill; the log is behind a lock.
    /// One node's place in a cluster.
    struct Cluster {
        var name = "unibus-test"
        var port: Int
        var routes: [Int]
    }

    let name: String
    let port: Int
    let storeDir: String
    private let process: Process
    private let lock = NSLock()
    private var logData = Data()

    /// Debian's 2.9.10, the version unibus deploys against (`UNIBUS_NATS_SERVER` overrides).
    static var executable: String {
        ProcessInfo.processInfo.environment["UNIBUS_NATS_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? NatsServerBinaries.debian
    }

    /// Starts a server and waits until it logs `Server is ready` and accepts TCP. A "free" port
    /// taken meanwhile by another test's server makes it exit: then a fresh port is tried (3 times).
    convenience init(
        in directory: TempDirectory, name: String = "n1", port: Int? = nil, jetStream: Bool = true,
        cluster: Cluster? = nil
    ) throws {
        var attempt = 1
        while true {
            do {
                try self.init(once: directory, name: name, port: port ?? FreePort.next(), jetStream: jetStream, cluster: cluster)
                return
            } catch let error as KVFixtureError where error.portTaken && port == nil && attempt < 3 {
                attempt += 1
            }
        }
    }

    private init(once directory: TempDirectory, name: String, port: Int, jetStream: Bool, cluster: Cluster?) throws {
        self.name = name
        self.port = port
        storeDir = directory.file("js-\(name)")
        var config = "server_name: \(name)\nlisten: 127.0.0.1:\(self.port)\n"
        if jetStream {
            config += "jetstream { store_dir: \"\(storeDir)\", max_memory_store: 64MB, max_file_store: 1GB }\n"
        }
        if let cluster {
            let routes = cluster.routes.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
            config += "cluster { name: \(cluster.name), listen: 127.0.0.1:\(cluster.port), routes: [\(routes)] }\n"
        }
        let configFile = directory.file("\(name).conf")
        try Data(config.utf8).write(to: URL(fileURLWithPath: configFile))
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.logData.append(chunk) }
        }
        try process.run()
        try waitUntilReady()
    }

    deinit { stop() }

    /// `nats://127.0.0.1:<port>`.
    var url: String { "nats://127.0.0.1:\(port)" }
    var log: String { lock.withLock { String(decoding: logData, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }

    /// Options for a test client: no reconnects, so a stopped server fails calls at once.
    func options(name: String = "unibus-store-tests") -> NatsConnectOptions {
        var options = NatsConnectOptions(servers: [url], name: name)
        options.allowReconnect = false
        return options
    }

    private func waitUntilReady() throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw KVFixtureError("nats-server \(name) exited with \(process.terminationStatus):\n\(log)")
            }
            if log.contains("Server is ready") && FreePort.accepts(port) { return }
            usleep(5_000)
        }
        stop()
        throw KVFixtureError("nats-server \(name) was not ready on port \(port) within 10 s:\n\(log)")
    }

    /// SIGINT, then SIGKILL after 5 s. Idempotent.
    func stop() {
        if process.isRunning {
            process.interrupt()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        (process.standardError as? Pipe)?.fileHandleForReading.readabilityHandler = nil
    }
}

/// Three nodes with routes to each other on loopback.
final class JetStreamCluster: Sendable {
    let nodes: [JetStreamServer]

    /// Starts the nodes; if one cannot bind its cluster port (taken meanwhile), all are stopped
    /// and the cluster is started again on fresh ports (3 times).
    init(in directory: TempDirectory, size: Int = 3) throws {
        var attempt = 1
        while true {
            let clusterPorts = (0..<size).map { _ in FreePort.next() }
            var started: [JetStreamServer] = []
            do {
                for index in 0..<size {
                    let routes = clusterPorts.enumerated().filter { $0.offset != index }.map(\.element)
                    started.append(
                        try JetStreamServer(in: directory, name: "n\(index + 1)", cluster: .init(port: clusterPorts[index], routes: routes)))
                }
                nodes = started
                return
            } catch let error as KVFixtureError where error.portTaken && attempt < 3 {
                started.forEach { $0.stop() }
                attempt += 1
            }
        }
    }

    func stop() { nodes.forEach { $0.stop() } }
}

/// A test-fixture failure with a message that says what to fix.
struct KVFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
    /// The server exited because a port it was given is in use.
    var portTaken: Bool { description.contains("address already in use") }
}
