/// How nats-server logs and whether its monitoring endpoint is open, from the two environment
/// variables `UNIBUS_NATS_DEBUG` and `UNIBUS_NATS_MONITOR` (contract section 6).
public struct NatsLogOptions: Equatable, Sendable {
    /// Suppress nats-server's log (`logtime`/`debug`/`trace` off and `-l` quiet).
    public var noLog: Bool
    public var debug: Bool
    public var trace: Bool
    /// Open the monitoring endpoint on 127.0.0.1:8222.
    public var monitor: Bool

    public init(noLog: Bool, debug: Bool, trace: Bool, monitor: Bool) {
        self.noLog = noLog
        self.debug = debug
        self.trace = trace
        self.monitor = monitor
    }
}

/// Pure toggle: only the exact value `1` enables a variable. DEBUG implies MONITOR.
///
/// | DEBUG | MONITOR | result (noLog, debug, trace, monitor) |
/// |-------|---------|---------------------------------------|
/// | –     | –       | (true, false, false, false)           |
/// | –     | 1       | (true, false, false, true)            |
/// | 1     | any     | (false, true, true, true)             |
/// - Parameters:
///   - debugEnv: the value of `UNIBUS_NATS_DEBUG`, nil when unset.
///   - monitorEnv: the value of `UNIBUS_NATS_MONITOR`, nil when unset.
public func natsLogOpts(debugEnv: String?, monitorEnv: String?) -> (noLog: Bool, debug: Bool, trace: Bool, monitor: Bool) {
    let debug = debugEnv == "1"
    let monitor = monitorEnv == "1"
    if debug { return (false, true, true, true) }
    return (true, false, false, monitor)
}

extension NatsLogOptions {
    /// The options `natsLogOpts` gives for this environment.
    public init(environment: [String: String]) {
        let o = natsLogOpts(debugEnv: environment["UNIBUS_NATS_DEBUG"], monitorEnv: environment["UNIBUS_NATS_MONITOR"])
        self.init(noLog: o.noLog, debug: o.debug, trace: o.trace, monitor: o.monitor)
    }
}
