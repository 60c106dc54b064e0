import ArgumentParser

/// How the data plane authenticates clients (`--bus-auth`). ArgumentParser refuses any other
/// value with exit 2, listing these.
enum BusAuth: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// nkey signature of an active user, client certificate and the rendered ACL.
    case enforce
    /// No authentication: refused unless `--bind` is a loopback address.
    case off
}
