public import Foundation

/// Why development TLS material could not be made or reused. `description` is one
/// operator-readable line saying what is wrong and what to do.
public enum DevelopmentCertificatesError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The openssl executable was not found (the name or path asked for).
    case opensslNotFound(String)
    /// openssl ran and failed: its subcommand, exit status and standard error.
    case opensslFailed(command: String, status: Int32, stderr: String)
    /// A file or directory could not be created, changed or moved.
    case fileSystem(path: String, reason: String)
    /// A private key file is accessible by group or others (its mode).
    case insecureKey(path: String, mode: Int)
    /// A private key file exists but openssl cannot read it.
    case unreadableKey(path: String)
    /// `ca.crt` exists without `ca.key`, so nothing can be signed.
    case caKeyMissing(certificate: String, key: String)
    /// The host name cannot be put in a certificate.
    case invalidHostName(String)

    public var description: String {
        switch self {
        case .opensslNotFound(let name):
            return "openssl not found (looked for '\(name)' on PATH and at /usr/bin/openssl); install it "
                + "(Debian/Ubuntu: apt-get install openssl) or give TLS material with --tls-cert, --tls-key and --tls-ca"
        case .opensslFailed(let command, let status, let stderr):
            let detail = stderr.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .prefix(4).joined(separator: "; ")
            return "openssl \(command) failed (exit \(status))" + (detail.isEmpty ? "" : ": \(detail)")
        case .fileSystem(let path, let reason):
            return "cannot write TLS material at \(path): \(reason)"
        case .insecureKey(let path, let mode):
            return "\(path) is accessible by group or others (mode 0\(String(mode, radix: 8))); run: chmod 600 \(path)"
        case .unreadableKey(let path):
            return "\(path) is not a readable private key; fix it, or remove it to have a new key created"
        case .caKeyMissing(let certificate, let key):
            return "\(certificate) exists but \(key) is missing: restore the key, or remove \(certificate) "
                + "to create a new development CA (certificates issued by the old one stop verifying)"
        case .invalidHostName(let name):
            return "host name '\(name)' cannot be named in a certificate; fix the host name "
                + "or give TLS material with --tls-cert, --tls-key and --tls-ca"
        }
    }
}
