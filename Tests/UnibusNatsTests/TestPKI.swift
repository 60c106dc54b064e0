import Foundation
import UnibusTestSupport

/// Test certificates made with the `openssl` CLI in a temp dir: a CA, a server certificate for
/// IP 127.0.0.1, a client certificate from the same CA, and a client certificate from a second,
/// "foreign" CA that the server does not trust. EC P-256, valid for 2 days.
struct TestPKI {
    let caFile: String
    let serverCert: String
    let serverKey: String
    let clientCert: String
    let clientKey: String
    let foreignClientCert: String
    let foreignClientKey: String

    init(in directory: TempDirectory) throws {
        let pem = { (name: String) in directory.file(name) }
        try Self.makeCA(name: "ca", subject: "/CN=unibus test CA", in: directory)
        try Self.makeCA(name: "foreign-ca", subject: "/CN=foreign test CA", in: directory)
        try Self.makeLeaf(
            name: "server", subject: "/CN=127.0.0.1", ca: "ca", in: directory,
            extensions: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        try Self.makeLeaf(
            name: "client", subject: "/CN=unibus test client", ca: "ca", in: directory,
            extensions: "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
        try Self.makeLeaf(
            name: "foreign-client", subject: "/CN=foreign client", ca: "foreign-ca", in: directory,
            extensions: "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
        caFile = pem("ca.pem")
        serverCert = pem("server.pem")
        serverKey = pem("server.key")
        clientCert = pem("client.pem")
        clientKey = pem("client.key")
        foreignClientCert = pem("foreign-client.pem")
        foreignClientKey = pem("foreign-client.key")
    }

    private static func makeCA(name: String, subject: String, in directory: TempDirectory) throws {
        try openssl(
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", subject,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ], in: directory)
    }

    private static func makeLeaf(
        name: String, subject: String, ca: String, in directory: TempDirectory, extensions: String
    ) throws {
        try Data(extensions.utf8).write(to: URL(fileURLWithPath: directory.file("\(name).ext")))
        try openssl(
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject,
            ], in: directory)
        try openssl(
            [
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                "-CAcreateserial", "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext",
            ], in: directory)
    }

    /// Runs `openssl <arguments>` in `directory`; throws with its output if it fails.
    private static func openssl(_ arguments: [String], in directory: TempDirectory) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory.url
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(
                "openssl \(arguments.joined(separator: " ")) exited \(process.terminationStatus):\n"
                    + String(decoding: text, as: UTF8.self))
        }
    }
}
