/// A program and its arguments, run without a shell. Never put a secret in `arguments`: argv is
/// world-readable in `/proc`; secrets go in 0600 files the program reads.
///
/// ```swift
/// let version = try await Command("/usr/sbin/nats-server", ["--version"]).output()
/// print(version.stdout)
/// ```
public struct Command: Sendable, CustomStringConvertible {
    /// The executable's path.
    public var executable: String
    /// The arguments after the executable's name.
    public var arguments: [String]
    /// The working directory; the caller's by default.
    public var workingDirectory: String?
    /// The environment; the caller's by default.
    public var environment: ChildEnvironment

    /// - Parameters:
    ///   - executable: the program's path.
    ///   - arguments: its arguments (no shell expansion).
    ///   - workingDirectory: where it runs; the caller's directory by default.
    ///   - environment: what it sees; the caller's environment by default.
    public init(
        _ executable: String, _ arguments: [String] = [], workingDirectory: String? = nil, environment: ChildEnvironment = .inherit
    ) {
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
    }

    /// The command line, for messages.
    public var description: String { ([executable] + arguments).joined(separator: " ") }
}

/// The environment a child sees.
public enum ChildEnvironment: Sendable {
    /// The caller's environment as it is.
    case inherit
    /// The caller's environment with these variables set (a value) or removed (nil).
    case inheritUpdating([String: String?])
    /// Exactly these variables.
    case exactly([String: String])
}

/// How a child ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this code.
    case exited(Int32)
    /// A signal ended it (e.g. 9 for SIGKILL).
    case signalled(Int32)

    /// Exit code 0.
    public var succeeded: Bool { self == .exited(0) }

    /// The exit code, or 128 + the signal as a shell reports it.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signalled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A child that could not be run, or whose output could not be read.
public struct ProcessError: Error, Sendable, CustomStringConvertible {
    /// The command, as run.
    public let command: String
    /// What went wrong, in the words of the OS where it has them.
    public let reason: String

    /// - Parameters:
    ///   - command: the command line.
    ///   - reason: what went wrong.
    public init(command: String, reason: String) {
        self.command = command
        self.reason = reason
    }

    public var description: String { "could not run \(command): \(reason)" }
}
