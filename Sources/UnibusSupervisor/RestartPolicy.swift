/// When `NatsServerService` starts nats-server again after it died: the first start must succeed
/// (`serve` fails at once on a bad binary or config); after that every death or failed start is
/// followed by a new start after a delay that doubles from `initialDelay` up to `maximumDelay`,
/// and falls back to `initialDelay` once a server has run for `healthyAfter`. There is no limit
/// on attempts: the node keeps trying while its operator is paged by `/healthz` and the log.
public struct RestartPolicy: Sendable {
    /// The delay after the first death.
    public var initialDelay: Duration = .milliseconds(250)
    /// The longest delay between attempts.
    public var maximumDelay: Duration = .seconds(30)
    /// How long a server must run for the delay to start again from `initialDelay`.
    public var healthyAfter: Duration = .seconds(60)

    public init() {}

    /// The delays of one service run.
    func schedule() -> Schedule { Schedule(policy: self) }

    /// The state of one service run's restarts.
    struct Schedule {
        let policy: RestartPolicy
        var delay: Duration
        private(set) var hasStartedOnce = false

        init(policy: RestartPolicy) {
            self.policy = policy
            delay = policy.initialDelay
        }

        /// A server became ready.
        mutating func started() { hasStartedOnce = true }

        /// The delay before the next attempt, after a server that ran for `ranFor` (zero: it never became ready).
        mutating func next(ranFor: Duration) -> Duration {
            if ranFor > policy.healthyAfter { delay = policy.initialDelay }
            defer { delay = min(delay * 2, policy.maximumDelay) }
            return delay
        }
    }
}
