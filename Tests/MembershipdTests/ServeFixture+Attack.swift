import Foundation
import UnibusCore
import UnibusProcess
import UnibusTestSupport

/// Helpers the attack suite needs on top of ``ServeFixture``.
extension ServeFixture {
    /// The STORE arguments of the CLI for this node (`--db` or the live KV).
    func storeArguments(kv: Bool) -> [String] {
        guard kv else { return ["--db", db] }
        return [
            "--store", "kv", "--nats-url", "nats://127.0.0.1:\(natsPort)", "--ca", "\(tls)/ca.crt",
            "--internal-id-file", dir.file("local_files/internal.id"),
        ]
    }

    /// Waits until the KV allowlist is open (after "membershipd ready" on `--store kv`).
    func waitForKV() async throws {
        guard await eventually(timeout: .seconds(20), { self.log.contains("KV allowlist open") }) else {
            throw FixtureFailure("KV never opened:\n\(log)")
        }
    }

    /// The rendered config on disk.
    var configFile: String { dir.file("local_files/nats-server.conf") }

    /// GET /healthz: status and the decoded body.
    func healthz(_ api: APIClient) async -> (status: Int, body: [String: Any]) {
        guard let r = try? await api.raw("GET", "/healthz", body: nil, headers: []) else { return (0, [:]) }
        return (r.status, r.json as? [String: Any] ?? [:])
    }

    /// A nats-server PID that is alive, or nil.
    var liveChildPID: Int32? { childPID.flatMap { kill($0, 0) == 0 ? $0 : nil } }
}

/// Runs a process with a deadline (SIGKILL when it passes); used for commands that must exit on
/// their own, such as a second `membershipd serve` that must refuse to start.
enum BoundedRun {
    struct Result {
        let status: Int32?
        let stderr: String
        var timedOut: Bool { status == nil }
    }

    static func run(_ executable: URL, _ arguments: [String], cwd: URL, timeout: Duration) async -> Result {
        let log = LogBuffer()
        let child: ChildProcess
        do {
            child = try await ChildProcess.start(
                Command(executable.path, arguments, workingDirectory: cwd.path), stop: .init(signal: SIGKILL, grace: .seconds(5)),
                onLine: log.append)
        } catch {
            return Result(status: -1, stderr: "\(error)")
        }
        let exited = await eventually(timeout: timeout, every: .milliseconds(50)) { child.hasExited }
        let status = await child.stop()
        return Result(status: exited ? status.code : nil, stderr: log.text)
    }
}
