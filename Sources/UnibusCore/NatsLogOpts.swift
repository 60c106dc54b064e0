/// How nats-server logs and whether its monitoring endpoint is open, from the two environment
/// variables `UNIBUS_NATS_DEBUG` and `UNIBUS_NATS_MONITOR` (contract section 6).
public struct NatsLogOptions: Equatable, Sendable {
    /// nats-server's routine log stays out of membershipd's log: only its warnings and errors
    /// are forwarded (nats-server still runs with its default log; `debug` and `trace` are off).
    /// Always the opposite of `debug`; the supervisor forwards every line when `debug` is set.
    public var noLog: Bool
    /// `debug: true` in the rendered config, and every nats-server log line forwarded.
    public var debug: Bool
    /// `trace: true` in the rendered config (protocol tracing).
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
