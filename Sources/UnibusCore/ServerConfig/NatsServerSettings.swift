/// Everything that goes into the nats-server config besides the authorization block.
public struct NatsServerSettings: Equatable, Sendable {
    /// TLS material (paths). The CA verifies *client* certificates (`verify: true`).
    public struct TLSFiles: Equatable, Sendable {
        public var cert: String, key: String, ca: String
        public init(cert: String, key: String, ca: String) {
            self.cert = cert
            self.key = key
            self.ca = ca
        }
    }

    /// Routes between the nodes of a cluster, with their own CA.
    public struct Cluster: Equatable, Sendable {
        public var name: String
        public var port: Int
        public var routes: [String]
        public var tls: TLSFiles?
        /// The route password (the config file is 0600); nil for none.
        public var password: String?
        public init(name: String, port: Int, routes: [String], tls: TLSFiles?, password: String? = nil) {
            self.name = name
            self.port = port
            self.routes = routes
            self.tls = tls
            self.password = password
        }
    }

    public var serverName: String
    public var host: String
    public var clientPort: Int
    /// nil only with bus auth off on loopback.
    public var tls: TLSFiles?
    public var jetStreamDirectory: String
    public var pidFile: String
    public var log: NatsLogOptions
    public var cluster: Cluster?
    public var version: NatsServerVersion

    public init(
        serverName: String, host: String, clientPort: Int, tls: TLSFiles?, jetStreamDirectory: String,
        pidFile: String, log: NatsLogOptions, cluster: Cluster? = nil, version: NatsServerVersion
    ) {
        self.serverName = serverName
        self.host = host
        self.clientPort = clientPort
        self.tls = tls
        self.jetStreamDirectory = jetStreamDirectory
        self.pidFile = pidFile
        self.log = log
        self.cluster = cluster
        self.version = version
    }

    /// The monitoring endpoint: always loopback, whatever `host` says (contract section 6).
    public static let monitorAddress = "127.0.0.1:8222"
}
