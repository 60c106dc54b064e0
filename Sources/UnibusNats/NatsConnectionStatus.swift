internal import CNats

/// The state of a connection, as `natsConnection_Status` reports it.
public enum NatsConnectionStatus: Sendable, Hashable {
    case disconnected, connecting, connected, closed, reconnecting, drainingSubscriptions,
        drainingPublishers
}

extension NatsConnectionStatus {
    init(_ status: natsConnStatus) {
        switch status {
        case NATS_CONN_STATUS_CONNECTING: self = .connecting
        case NATS_CONN_STATUS_CONNECTED: self = .connected
        case NATS_CONN_STATUS_CLOSED: self = .closed
        case NATS_CONN_STATUS_RECONNECTING: self = .reconnecting
        case NATS_CONN_STATUS_DRAINING_SUBS: self = .drainingSubscriptions
        case NATS_CONN_STATUS_DRAINING_PUBS: self = .drainingPublishers
        default: self = .disconnected
        }
    }
}
