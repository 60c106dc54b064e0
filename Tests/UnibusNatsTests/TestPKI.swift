import Foundation
import UnibusSupervisor
import UnibusTestSupport

/// Test certificates made by the same Swift PKI as `membershipd certs dev`: a CA, a server
/// certificate for 127.0.0.1, a client certificate from that CA, and a client certificate from
/// a second, "foreign" CA the server does not trust.
struct TestPKI {
    let caFile: String
    let serverCert: String
    let serverKey: String
    let clientCert: String
    let clientKey: String
    let foreignClientCert: String
    let foreignClientKey: String

    init(in directory: TempDirectory) throws {
        let trusted = try DevelopmentCertificates.ensure(in: directory.url.appendingPathComponent("pki"), hostName: "").paths
        let foreign = try DevelopmentCertificates.ensure(in: directory.url.appendingPathComponent("foreign-pki"), hostName: "").paths
        caFile = trusted.caCert.path
        serverCert = trusted.serverCert.path
        serverKey = trusted.serverKey.path
        clientCert = trusted.clientCert.path
        clientKey = trusted.clientKey.path
        foreignClientCert = foreign.clientCert.path
        foreignClientKey = foreign.clientKey.path
    }
}
