public import Foundation
public import UnibusCore
import UnibusProcess

/// The nats-server binary membershipd runs, and the version it reported.
public struct NatsServerExecutable: Sendable {
    public let path: String
    public let version: NatsServerVersion

    /// Finds nats-server (the explicit path, else PATH, else Debian's /usr/sbin) and asks its version.
    /// - Throws: `SupervisorError.natsServerNotFound` / `.unknownVersion`.
    public static func locate(_ explicit: String?, searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) async throws -> Self {
        let candidates: [String]
        if let explicit {
            candidates = [explicit]
        } else {
            let dirs = (searchPath ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
            candidates = dirs.map { "\($0)/nats-server" }
        }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SupervisorError.natsServerNotFound(explicit ?? "PATH, /usr/sbin")
        }
        let result = try await Command(path, ["--version"]).output()
        guard result.succeeded, let version = NatsServerVersion(versionOutput: result.stdout + result.stderr) else {
            throw SupervisorError.unknownVersion(path: path, output: result.stdout + result.stderr)
        }
        return Self(path: path, version: version)
    }

    /// Checks a config file with `nats-server -t` (syntax and options; not every semantic error).
    /// Suspends while the check runs; no thread waits for it.
    /// - Throws: `SupervisorError.configRejected` with the server's own words.
    public func checkConfig(_ file: String) async throws {
        let result = try await Command(path, ["-t", "-c", file]).output()
        guard result.succeeded else {
            let reason = result.lastLine ?? "\(result.status)"
            throw SupervisorError.configRejected(file: file, reason: reason)
        }
    }
}
