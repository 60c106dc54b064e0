import ArgumentParser

/// How the data plane authenticates clients (`--bus-auth`). Any other value is refused with
/// exit 1 (a bad value), listing these.
enum BusAuth: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// nkey signature of an active user, client certificate and the rendered ACL.
    case enforce
    /// No authentication: refused unless `--bind` is a loopback address.
    case off
}
