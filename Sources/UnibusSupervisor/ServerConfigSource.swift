/// Whoever renders the config nats-server runs (the ACL engine). `NatsServerService` asks it
/// for a fresh, checked config before every start and tells it when the server runs and stops.
public protocol ServerConfigSource: Sendable {
    /// Writes the config the server is about to start with, checked.
    /// - Throws: when it cannot be rendered, written or checked; the server must not start then.
    func configForStart() async throws
    /// The server started with that config and is ready.
    func serverStarted() async
    /// The server stopped: nothing is in force until it starts again.
    func serverStopped() async
}
