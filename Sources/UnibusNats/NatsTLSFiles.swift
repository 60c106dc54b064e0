/// PEM files for a TLS connection: the CA to trust and, for mutual TLS, a client certificate.
public struct NatsTLSFiles: Sendable, Equatable {
    /// CA bundle that signed the server's certificate; `nil` uses OpenSSL's default trust store.
    public var caFile: String?
    /// Client certificate chain (leaf first), for servers with `verify: true`.
    public var certFile: String?
    /// Private key of ``certFile``.
    public var keyFile: String?

    /// - Parameters:
    ///   - caFile: Path of the CA bundle to trust.
    ///   - certFile: Path of the client certificate chain; give `keyFile` with it.
    ///   - keyFile: Path of the client private key.
    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
