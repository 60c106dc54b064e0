public import Foundation
public import UnibusCore

/// The nats-server binary membershipd runs, and the version it reported.
public struct NatsServerExecutable: Sendable {
    public let path: String
    public let version: NatsServerVersion

    /// Finds nats-server (the explicit path, else PATH, else Debian's /usr/sbin) and asks its version.
    /// - Throws: `SupervisorError.natsServerNotFound` / `.unknownVersion`.
    public static func locate(_ explicit: String?, searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> Self {
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
        let result = try Subprocess.run(path, ["--version"])
        guard result.status == 0, let version = NatsServerVersion(versionOutput: result.stdout + result.stderr) else {
            throw SupervisorError.unknownVersion(path: path, output: result.stdout + result.stderr)
        }
        return Self(path: path, version: version)
    }

    /// Checks a config file with `nats-server -t` (syntax and options; not every semantic error).
    /// - Throws: `SupervisorError.configRejected` with the server's own words.
    public func checkConfig(_ file: String) throws {
        let result = try Subprocess.run(path, ["-t", "-c", file])
        guard result.status == 0 else {
            let reason = (result.stderr + result.stdout).split(separator: "\n").last.map(String.init) ?? "exit \(result.status)"
            throw SupervisorError.configRejected(file: file, reason: reason)
        }
    }
}

/// Runs a short-lived command to completion (no shell; never used with secrets in argv).
public enum Subprocess {
    /// Exit status and both outputs, decoded as UTF-8.
    public struct Result: Sendable {
        public let status: Int32, stdout: String, stderr: String
    }

    /// Runs `executable` with `arguments`, stdin from /dev/null, draining both pipes at once.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errData = ReadInBackground(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.wait(), as: UTF8.self))
    }
}

/// Reads a pipe to its end on its own thread (so two pipes can be drained at once).
final class ReadInBackground: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    func wait() -> Data {
        done.wait()
        return data
    }
}
