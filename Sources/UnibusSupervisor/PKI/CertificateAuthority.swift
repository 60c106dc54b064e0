import Crypto
public import Foundation
import SwiftASN1
public import X509

/// A CA that signs on this machine: the client CA (data plane and HTTPS clients) or a cluster's
/// separate route CA. Its key never leaves the operator's machine.
public struct CertificateAuthority: Sendable {
    public let files: KeyPairFiles
    public let certificate: Certificate
    let key: Certificate.PrivateKey

    /// Validity of a new CA certificate.
    public static let defaultDays = 3650
    /// A certificate closer than this to its expiry is re-issued (for the key it has).
    public static let renewalMargin: TimeInterval = 30 * 86_400

    /// Loads the CA, making it when neither file exists. A CA certificate close to expiry is
    /// re-issued for its key (certificates it issued keep verifying). `force` replaces key and
    /// certificate (everything the old CA issued stops verifying).
    /// - Throws: `PKIError` for a certificate without its key, a pair that does not match, or a
    ///   certificate that is not a CA.
    public static func ensure(
        _ files: KeyPairFiles, commonName: String, days: Int = defaultDays, force: Bool = false, now: Date = Date()
    ) throws(PKIError) -> (CertificateAuthority, IssueOutcome) {
        if force || (!files.certificateExists && !files.keyExists) {
            let key = try files.writeNewKey()
            let ca = try make(files, commonName: commonName, key: key, days: days, now: now)
            return (ca, force ? .replaced : .created)
        }
        guard files.keyExists else { throw .keyMissing(certificate: files.certificate, key: files.key) }
        let key = try files.readKey()
        guard files.certificateExists else { return (try make(files, commonName: commonName, key: key, days: days, now: now), .renewed) }
        let certificate = try files.readCertificate()
        guard certificate.publicKey == key.publicKey else { throw .keyMismatch(certificate: files.certificate, key: files.key) }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw .differs(certificate: files.certificate, reason: "is not a CA certificate")
        }
        if certificate.notValidAfter.timeIntervalSince(now) < renewalMargin {
            return (try make(files, subject: certificate.subject, key: key, days: days, now: now), .renewed)
        }
        return (CertificateAuthority(files: files, certificate: certificate, key: key), .kept)
    }

    /// An existing CA, to sign with.
    public static func load(_ files: KeyPairFiles) throws(PKIError) -> CertificateAuthority {
        guard files.certificateExists else { throw .fileSystem(path: files.certificate, reason: "no such file (make the CA first)") }
        guard files.keyExists else { throw .keyMissing(certificate: files.certificate, key: files.key) }
        let key = try files.readKey()
        let certificate = try files.readCertificate()
        guard certificate.publicKey == key.publicKey else { throw .keyMismatch(certificate: files.certificate, key: files.key) }
        return CertificateAuthority(files: files, certificate: certificate, key: key)
    }

    private static func make(
        _ files: KeyPairFiles, commonName: String, key: Certificate.PrivateKey, days: Int, now: Date
    ) throws(PKIError) -> CertificateAuthority {
        let subject: DistinguishedName
        do {
            subject = try DistinguishedName { CommonName(commonName) }
        } catch {
            throw .signing("\(error)")
        }
        return try make(files, subject: subject, key: key, days: days, now: now)
    }

    private static func make(
        _ files: KeyPairFiles, subject: DistinguishedName, key: Certificate.PrivateKey, days: Int, now: Date
    ) throws(PKIError) -> CertificateAuthority {
        let certificate: Certificate
        do {
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            }
            certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(TimeInterval(days) * 86_400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
        } catch {
            throw .signing("\(error)")
        }
        try files.write(certificate)
        return CertificateAuthority(files: files, certificate: certificate, key: key)
    }

    /// Whether this CA signed `certificate`.
    func issued(_ certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// Signs a leaf certificate for `publicKey`.
    func sign(_ profile: LeafProfile, publicKey: Certificate.PublicKey, days: Int, now: Date) throws(PKIError) -> Certificate {
        do {
            let subject = try DistinguishedName { CommonName(profile.commonName) }
            var extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(profile.usage.extendedKeyUsages)
                SubjectKeyIdentifier(hash: publicKey)
            }
            if let ski = try certificate.extensions.subjectKeyIdentifier {
                try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: ski.keyIdentifier), critical: false))
            }
            if !profile.names.isEmpty {
                try extensions.append(Certificate.Extension(SubjectAlternativeNames(profile.names.map(\.generalName)), critical: false))
            }
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(TimeInterval(days) * 86_400),
                issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: key)
        } catch let error as PKIError {
            throw error
        } catch {
            throw .signing("\(error)")
        }
    }
}
