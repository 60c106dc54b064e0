/// What a command printed, and how it ended.
public struct CommandOutput: Sendable {
    /// How the command ended.
    public let status: ExitStatus
    /// Its standard output, decoded as UTF-8.
    public let stdout: String
    /// Its standard error, decoded as UTF-8.
    public let stderr: String

    /// Whether it exited 0.
    public var succeeded: Bool { status.succeeded }

    /// The last non-empty line of stderr (else stdout), for a one-line error message.
    public var lastLine: String? {
        (stderr + "\n" + stdout).split(separator: "\n").last { !$0.trimmingPrefix(" ").isEmpty }.map(String.init)
    }
}
