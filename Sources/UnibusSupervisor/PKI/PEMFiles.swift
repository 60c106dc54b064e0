import Crypto
public import Foundation
import SwiftASN1
public import X509

/// A certificate and its private key on disk: PEM, the key PKCS#8 ECDSA P-256 with mode 0600,
/// the certificate 0644. Every write is atomic (a temporary file renamed into place).
public struct KeyPairFiles: Sendable, Hashable {
    public let certificate: String
    public let key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    /// `<directory>/<name>.crt` and `<directory>/<name>.key`.
    public init(directory: String, name: String) {
        self.init(certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
    }

    var certificateExists: Bool { FileManager.default.fileExists(atPath: certificate) }
    var keyExists: Bool { FileManager.default.fileExists(atPath: key) }

    /// The private key, refused when group or others may read it.
    func readKey() throws(PKIError) -> Certificate.PrivateKey {
        let data: Data
        do {
            data = try SecureFile.readSecret(key)
        } catch SupervisorError.fileMode(let path, let mode) {
            throw .insecureKey(path: path, mode: mode)
        } catch {
            throw .unreadable(path: key, reason: "\(error)")
        }
        do {
            return Certificate.PrivateKey(try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)))
        } catch {
            throw .unreadable(path: key, reason: "not a PEM ECDSA P-256 private key")
        }
    }

    func readCertificate() throws(PKIError) -> Certificate {
        try Self.readCertificate(certificate)
    }

    static func readCertificate(_ path: String) throws(PKIError) -> Certificate {
        do {
            return try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw .unreadable(path: path, reason: "not a PEM certificate")
        }
    }

    /// A new P-256 key, written 0600.
    func writeNewKey() throws(PKIError) -> Certificate.PrivateKey {
        let key = P256.Signing.PrivateKey()
        try Self.write(key.pemRepresentation, to: self.key, mode: 0o600)
        return Certificate.PrivateKey(key)
    }

    func write(_ certificate: Certificate) throws(PKIError) {
        let pem: String
        do {
            pem = try certificate.serializeAsPEM().pemString
        } catch {
            throw .signing("\(error)")
        }
        try Self.write(pem + "\n", to: self.certificate, mode: 0o644)
    }

    static func write(_ text: String, to path: String, mode: mode_t) throws(PKIError) {
        do {
            try SecureFile.writeAtomically(text, to: path)
        } catch {
            throw .fileSystem(path: path, reason: "\(error)")
        }
        guard chmod(path, mode) == 0 else { throw .fileSystem(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Creates `path` (0700) if missing; refuses a file in the way.
    public static func makeDirectory(_ path: String) throws(PKIError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .fileSystem(path: path, reason: "not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .fileSystem(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}

/// What happened to one certificate.
public enum IssueOutcome: String, Sendable {
    /// It existed, was current and was left alone.
    case kept
    /// Key and certificate were made.
    case created
    /// The certificate was re-issued for the key it had (missing, expiring, or — for development
    /// material only — covering other names).
    case renewed
    /// `--force`: a new key and certificate replaced the old ones.
    case replaced
}

/// Reading a certificate someone else made.
public enum CertificateFile {
    /// When the PEM certificate in `path` expires; nil if it cannot be read.
    public static func expiry(_ path: String) -> Date? {
        try? KeyPairFiles.readCertificate(path).notValidAfter
    }
}
