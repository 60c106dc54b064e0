internal import Subprocess
internal import SystemPackage

extension Command {
    /// Runs the command to completion: stdin from `input` (else /dev/null), both outputs collected
    /// at once, so neither pipe can fill up. Suspends; never blocks a thread of the cooperative pool.
    /// - Parameters:
    ///   - input: text written to the command's stdin, which is then closed.
    ///   - limit: the most bytes kept of each output; more is an error.
    /// - Returns: the exit status and both outputs (a non-zero exit is not an error here).
    /// - Throws: `ProcessError` if it cannot be started or its output exceeds `limit`.
    public func output(input: String? = nil, limit: Int = 16 << 20) async throws(ProcessError) -> CommandOutput {
        do {
            let result =
                if let input {
                    try await Subprocess.run(
                        configuration, input: .string(input), output: .string(limit: limit), error: .string(limit: limit))
                } else {
                    try await Subprocess.run(configuration, input: .none, output: .string(limit: limit), error: .string(limit: limit))
                }
            return CommandOutput(
                status: ExitStatus(result.terminationStatus), stdout: result.standardOutput, stderr: result.standardError)
        } catch let error as SubprocessError {
            throw ProcessError(command: description, reason: error.operatorText)
        } catch {
            throw ProcessError(command: description, reason: "\(error)")
        }
    }

    /// The swift-subprocess configuration for this command.
    var configuration: Configuration {
        Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(arguments), environment: environment.subprocess,
            workingDirectory: workingDirectory.map { FilePath($0) })
    }
}

extension ChildEnvironment {
    var subprocess: Environment {
        switch self {
        case .inherit: .inherit
        case .inheritUpdating(let changes):
            .inherit.updating(Dictionary(uniqueKeysWithValues: changes.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
        case .exactly(let variables):
            .custom(Dictionary(uniqueKeysWithValues: variables.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
        }
    }
}

extension ExitStatus {
    init(_ status: TerminationStatus) {
        switch status {
        case .exited(let code): self = .exited(code)
        case .signaled(let signal): self = .signalled(signal)
        }
    }
}

extension SubprocessError {
    /// The OS's words for what went wrong (e.g. "No such file or directory"), not the package's dump.
    var operatorText: String {
        if let errno = underlyingError {
            return "\(code == .executableNotFound ? "not found or not executable" : "failed") (\(errno.description))"
        }
        return code == .executableNotFound ? "not found or not executable" : "\(self)"
    }
}
