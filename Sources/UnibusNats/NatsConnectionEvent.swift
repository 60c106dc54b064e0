/// Something that happened to a connection outside any call: nats.c reports these on its own thread.
public enum NatsConnectionEvent: Sendable, Hashable {
    /// An asynchronous error. Permission violations arrive here (publish and subscribe
    /// themselves return success) with `isNotPermitted` and text like
    /// `Permissions Violation for Publish to "x"`; so do slow-consumer drops.
    case error(NatsError)
    /// The connection to the current server was lost (nats.c may now reconnect).
    case disconnected
    /// A lost connection was re-established; subscriptions were replayed.
    case reconnected
    /// The connection is closed for good; the event stream ends after this.
    case closed
}
