/// Tells when the allowlist may have changed, whoever changed it (this process, the CLI in
/// another process, another node). A signal may be spurious; a change is never missed.
public protocol AllowlistChangeFeed: Sendable {
    /// A stream that yields after each change (bursts may be coalesced into one element).
    func changes() -> AsyncStream<Void>
}
