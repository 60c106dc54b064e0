/// What can go wrong running nats-server, worded for the operator who reads the log.
public enum SupervisorError: Error, Equatable, Sendable, CustomStringConvertible {
    case natsServerNotFound(String)
    case unknownVersion(path: String, output: String)
    case configRejected(file: String, reason: String)
    case notReady(seconds: Int, lastLog: String)
    case exited(status: Int32, lastLog: String)
    case reloadFailed(String)
    case reloadUnconfirmed(seconds: Int)
    case notRunning
    case fileMode(path: String, mode: Int)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .natsServerNotFound(let w): "nats-server not found (looked in \(w)); install Debian's nats-server or pass --nats-server PATH"
        case .unknownVersion(let p, let o): "\(p) --version did not print a version (\(o.prefix(120))); pass a nats-server binary with --nats-server"
        case .configRejected(let f, let r): "nats-server rejected the generated config \(f): \(r)"
        case .notReady(let s, let l): "nats-server did not accept connections within \(s) s; last log line: \(l)"
        case .exited(let s, let l): "nats-server exited with status \(s); last log line: \(l)"
        case .reloadFailed(let r): "nats-server refused the ACL reload and keeps its previous config: \(r)"
        case .reloadUnconfirmed(let s): "nats-server did not confirm the ACL reload within \(s) s"
        case .notRunning: "nats-server is not running (starting or restarting); the change is stored and applied when it is"
        case .fileMode(let p, let m): "\(p) is readable by group or others (mode \(String(m, radix: 8))); run: chmod 600 \(p)"
        case .io(let p, let r): "\(p): \(r)"
        }
    }
}
