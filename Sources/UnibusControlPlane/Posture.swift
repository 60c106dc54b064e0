/// What `/healthz` reports (contract section 4), measured live by the node.
public struct Posture: Encodable, Sendable {
    public struct Cluster: Encodable, Sendable {
        public var name: String
        public var routes: Int
        public init(name: String, routes: Int) {
            self.name = name
            self.routes = routes
        }
    }
    public struct LastReload: Encodable, Sendable {
        public var at: String
        public var ok: Bool
        public var message: String
        public init(at: String, ok: Bool, message: String) {
            self.at = at
            self.ok = ok
            self.message = message
        }
    }

    public var status: String
    public var version: String
    public var busAuth: String
    public var acl: Bool
    public var tls: Bool
    public var store: String
    public var cluster: Cluster?
    public var jetstream: String
    public var lastACLReload: LastReload?
    public var serverCertificateExpires: String?
    /// Why the node is degraded, one operator-readable line each (empty when ok).
    public var problems: [String] = []
    /// How many stored records are left out of the ACL (they grant nothing until repaired).
    public var leftOutOfACL = 0
    /// The ACL generation this node runs, and where in the store's change stream it is.
    public var aclGeneration: UInt64 = 0
    public var aclPosition = "none"

    public init(
        status: String, version: String, busAuth: String, acl: Bool, tls: Bool, store: String, cluster: Cluster?,
        jetstream: String, lastACLReload: LastReload?, serverCertificateExpires: String?
    ) {
        self.status = status
        self.version = version
        self.busAuth = busAuth
        self.acl = acl
        self.tls = tls
        self.store = store
        self.cluster = cluster
        self.jetstream = jetstream
        self.lastACLReload = lastACLReload
        self.serverCertificateExpires = serverCertificateExpires
    }

    enum CodingKeys: String, CodingKey {
        case status, version, busAuth = "bus_auth", acl, tls, store, cluster, jetstream
        case lastACLReload = "last_acl_reload", serverCertificateExpires = "server_certificate_expires"
        case problems, leftOutOfACL = "left_out_of_acl", aclGeneration = "acl_generation", aclPosition = "acl_position"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(version, forKey: .version)
        try c.encode(busAuth, forKey: .busAuth)
        try c.encode(acl, forKey: .acl)
        try c.encode(tls, forKey: .tls)
        try c.encode(store, forKey: .store)
        try c.encode(cluster, forKey: .cluster)  // null when single node
        try c.encode(jetstream, forKey: .jetstream)
        try c.encodeIfPresent(lastACLReload, forKey: .lastACLReload)
        try c.encodeIfPresent(serverCertificateExpires, forKey: .serverCertificateExpires)
        try c.encode(problems, forKey: .problems)
        try c.encode(leftOutOfACL, forKey: .leftOutOfACL)
        try c.encode(aclGeneration, forKey: .aclGeneration)
        try c.encode(aclPosition, forKey: .aclPosition)
    }
}
