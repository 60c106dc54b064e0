import Foundation

/// How to reach and authenticate to nats-server; turned into a `natsOptions` at connect time.
///
/// ```swift
/// var options = NatsConnectOptions(servers: ["tls://127.0.0.1:4222"], name: "membershipd")
/// options.tls = NatsTLSFiles(caFile: "ca.pem", certFile: "client.pem", keyFile: "client.key")
/// options.nkey = NatsNKeyCredentials(publicKey: "UAB…", seed: try NatsNKeySeed(seedBytes))
/// let connection = try await NatsConnection.connect(options)
/// ```
public struct NatsConnectOptions: Sendable, CustomStringConvertible {
    /// Seed URLs (`nats://host:port` or `tls://host:port`), set with `natsOptions_SetServers`.
    /// An entry may itself be a comma-separated list; it is split (nats.c would not).
    public var servers: [String]
    /// The connection name shown by the server's monitoring endpoints.
    public var name: String?
    /// TLS files; when set the connection requires TLS.
    public var tls: NatsTLSFiles?
    /// nkey authentication; `nil` connects without credentials.
    public var nkey: NatsNKeyCredentials?
    /// Prefix for request inboxes instead of `_INBOX`, e.g. `_INBOX.alice` to fit a narrow
    /// subscribe permission.
    public var customInboxPrefix: String?
    /// How long one connection attempt (TCP, TLS and the CONNECT/PONG exchange) may take.
    public var timeout: Duration
    /// Whether to reconnect after losing an established connection.
    public var allowReconnect: Bool
    /// Reconnect attempts per server before the connection closes for good; -1 retries forever.
    public var maxReconnect: Int
    /// Pause between reconnect attempts to the same server.
    public var reconnectWait: Duration
    /// Whether every publish is written to the socket at once (`natsOptions_SetSendAsap`),
    /// instead of being buffered for nats.c's flusher thread, which waits about 1 ms to batch
    /// more. Set it on connections that answer requests (or otherwise publish one message and
    /// wait for its effect); leave it off for streams of publishes, where one socket write per
    /// message costs throughput. ``NatsConnection/request(_:payload:timeout:)`` always sends at
    /// once, with or without it.
    public var sendAsap: Bool

    /// - Parameters:
    ///   - servers: Seed URLs; at least one.
    ///   - name: Connection name for monitoring.
    ///   - timeout: Connect timeout (nats.c's default is 2 s).
    public init(servers: [String], name: String? = nil, timeout: Duration = .seconds(2)) {
        self.servers = servers
        self.name = name
        self.tls = nil
        self.nkey = nil
        self.customInboxPrefix = nil
        self.timeout = timeout
        self.allowReconnect = true
        self.maxReconnect = 60
        self.reconnectWait = .seconds(2)
        self.sendAsap = false
    }

    /// The server URLs: ``servers`` with comma-separated entries split and blanks dropped.
    public var serverURLs: [String] {
        servers.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// The server URLs joined with commas, as used in error messages.
    public var serverList: String { serverURLs.joined(separator: ",") }

    /// A summary without secrets (the seed prints as a placeholder).
    public var description: String {
        var parts = ["servers: \(serverList)"]
        if let name { parts.append("name: \(name)") }
        if tls != nil { parts.append("tls") }
        if let nkey { parts.append(nkey.description) }
        if let customInboxPrefix { parts.append("inbox: \(customInboxPrefix)") }
        if sendAsap { parts.append("send asap") }
        return "NatsConnectOptions(\(parts.joined(separator: ", ")))"
    }
}
