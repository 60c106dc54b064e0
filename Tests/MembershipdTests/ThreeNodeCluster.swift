import Foundation
import Testing
import UnibusProcess
import UnibusTestSupport

/// Three membershipd nodes in their own directories with fixed route ports, started and
/// restarted one by one (same directory, same routes), sharing one development CA (so one client
/// certificate is good on every node, as in a real cluster).
final class ThreeNodeCluster: @unchecked Sendable {
    let dirs = (1...3).map { _ in TempDirectory("unibus-test-cluster") }
    let routePorts = (0..<3).map { _ in FreePort.next() }
    let name: String

    /// - Parameter clients: client certificates to make beside the operator's (`<tls>/<name>.crt`).
    init(name: String = "unibus-ops", clients: [String] = []) async throws {
        self.name = name
        let tls = dirs[0].file("local_files/tls")
        let made = try await CLI.run(["certs", "dev", "--out", tls] + (["client"] + clients).flatMap { ["--client", $0] })
        guard made.status == 0 else { throw FixtureFailure("certs dev: \(made)") }
        for dir in dirs.dropFirst() {
            try FileManager.default.createDirectory(atPath: dir.file("local_files"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: tls, toPath: dir.file("local_files/tls"))
        }
    }

    var tls: String { dirs[0].file("local_files/tls") }

    func start(_ i: Int, replicas: Int = 3) async throws -> ServeFixture {
        try await ServeFixture(
            natsServer: NatsServerBinaries.debian,
            arguments: [
                "--store", "kv", "--kv-replicas", "\(replicas)", "--server-name", "n\(i + 1)", "--cluster-name", name,
                "--cluster-port", "\(routePorts[i])", "--routes", routePorts.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ","),
            ], directory: dirs[i])
    }

    /// Starts the node and waits until its KV allowlist is open at `replicas`.
    func startOpen(_ i: Int, replicas: Int = 3) async throws -> ServeFixture {
        let node = try await start(i, replicas: replicas)
        try await node.waitUntilReady()
        guard await eventually(timeout: .seconds(90), { node.log.contains("KV allowlist open (replicas \(replicas))") }) else {
            throw FixtureFailure("KV never opened at R\(replicas) on n\(i + 1):\n\(node.log.suffix(3000))")
        }
        return node
    }

    /// A CLI command run on node `i`'s machine: the node record supplies every store flag.
    func cli(_ i: Int, _ arguments: [String]) async throws -> CLIResult { try await CLI.run(arguments, cwd: dirs[i].url) }

    /// `cluster status --json` from node `i`, parsed.
    func status(_ i: Int, _ extra: [String] = []) async throws -> (CLIResult, [String: Any]?) {
        let r = try await cli(i, ["cluster", "status", "--json"] + extra)
        return (r, (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])
    }
}

extension ServeFixture {
    /// SIGKILL: membershipd and its nats-server at once, as a crashed machine would.
    func crash() async {
        let server = childPID
        child.send(SIGKILL)
        if let server { kill(server, SIGKILL) }
        _ = await child.waitForExit()
    }
}
