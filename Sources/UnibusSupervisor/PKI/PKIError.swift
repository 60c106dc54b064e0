/// Why TLS material could not be made or reused. `description` is one operator-readable line
/// saying what is wrong and what to do.
public enum PKIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A file or directory could not be read, created or moved.
    case fileSystem(path: String, reason: String)
    /// A private key file is accessible by group or others (its mode).
    case insecureKey(path: String, mode: Int)
    /// A file is not the PEM key or certificate it should be.
    case unreadable(path: String, reason: String)
    /// A certificate exists without its key, so nothing can be signed or presented.
    case keyMissing(certificate: String, key: String)
    /// A certificate does not belong to the key beside it.
    case keyMismatch(certificate: String, key: String)
    /// An existing certificate was issued for other names or uses, or by another CA: it is never
    /// silently replaced.
    case differs(certificate: String, reason: String)
    /// A name cannot be put in a certificate.
    case invalidName(String)
    /// The cluster's nodes.env cannot be used as it is.
    case nodesFile(path: String, reason: String)
    /// swift-certificates refused to build or sign a certificate.
    case signing(String)

    public var description: String {
        switch self {
        case .fileSystem(let path, let reason): "cannot write TLS material at \(path): \(reason)"
        case .insecureKey(let path, let mode):
            "\(path) is accessible by group or others (mode 0\(String(mode, radix: 8))); run: chmod 600 \(path)"
        case .unreadable(let path, let reason): "\(path) is not usable (\(reason)); fix it, or remove it to have it made again"
        case .keyMissing(let certificate, let key):
            "\(certificate) exists but \(key) is missing: restore the key, or remove \(certificate) to make a new one "
                + "(certificates a CA issued stop verifying when it is replaced)"
        case .keyMismatch(let certificate, let key):
            "\(certificate) does not belong to the key \(key): restore the matching pair, or re-issue with --force"
        case .differs(let certificate, let reason):
            "\(certificate) \(reason): it is kept as it is; re-issue it with --force if that is what you want"
        case .invalidName(let name): "'\(name)' cannot be named in a certificate: give a DNS name or an IP address"
        case .nodesFile(let path, let reason): "\(path): \(reason)"
        case .signing(let reason): "cannot make the certificate: \(reason)"
        }
    }
}
