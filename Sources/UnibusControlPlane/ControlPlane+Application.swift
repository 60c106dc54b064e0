public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOSSL

extension ControlPlane {
    /// The HTTPS application on `host:port` with the node's server certificate; run it as a
    /// service in the node's `ServiceGroup`.
    /// - Throws: when the certificate or key cannot be loaded.
    public func application(
        host: String, port: Int, certificateFile: String, keyFile: String,
        logger: Logger
    ) throws -> some ApplicationProtocol {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return Application(
            router: router(),
            server: .guardedHTTPS(tls: tls, limits: limits),
            configuration: .init(address: .hostname(host, port: port), serverName: "unibus"),
            logger: logger)
    }
}
