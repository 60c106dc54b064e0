import Foundation
import UnibusProcess
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

    /// Runs `membershipd <arguments>` to completion.
    /// - Parameters:
    ///   - cwd: its working directory (the test's by default).
    ///   - environment: exactly these variables (the test's environment by default).
    ///   - input: text for its stdin (else /dev/null).
    static func run(
        _ arguments: [String], cwd: URL? = nil, environment: [String: String]? = nil, input: String? = nil
    ) async throws -> CLIResult {
        let command = Command(
            executable.path, arguments, workingDirectory: cwd?.path, environment: environment.map { .exactly($0) } ?? .inherit)
        let result = try await command.output(input: input)
        return CLIResult(status: result.status.code, stdout: result.stdout, stderr: result.stderr)
    }
}
