import Foundation
import UnibusTestSupport

/// Runs the built `membershipd` as an operator would: a separate process, argv, exit code, stdout, stderr.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The executable built beside the test bundle.
    static let executable: URL = {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("membershipd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("membershipd not found next to the test bundle (\(Bundle.main.bundleURL.path)); run `swift build` first")
    }()

    static func run(_ arguments: [String], cwd: URL? = nil, environment: [String: String]? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = cwd }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stdout on another thread while reading stderr here, so neither pipe can fill up.
        let stdoutBox = DataBox()
        let reader = Thread {
            stdoutBox.data = (try? out.fileHandleForReading.readToEnd()) ?? Data(); stdoutBox.done.signal()
        }
        reader.start()
        let stderr = (try? err.fileHandleForReading.readToEnd()) ?? Data()
        stdoutBox.done.wait()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutBox.data, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
