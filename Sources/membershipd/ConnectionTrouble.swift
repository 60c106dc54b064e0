import AsyncHTTPClient
import Foundation
import NIOSSL

/// What an operator can do about a failed HTTPS connection to a node: the URL, the flag and the
/// fix, instead of a socket error number or a BoringSSL error stack.
enum ConnectionTrouble {
    /// One line for `error: …`.
    /// - Parameters:
    ///   - url: the `--url` dialled.
    ///   - ca: the `--ca` the node's certificate was checked against.
    static func explain(_ error: any Error, url: String, ca: String) -> String {
        let text = String(describing: error)
        if text.contains("Connection refused") || text.contains("connectionRefused") {
            return "nothing answers at \(url) (connection refused): check --url and that membershipd serve runs there"
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname || extra == .serverHostnameImpossibleToMatch {
            return "TLS with \(url) failed: the node's certificate does not name that host: give a --url with a name or address the "
                + "certificate covers (see its --public-url)"
        }
        if error is NIOSSLError || text.contains("handshakeFailed") || text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS with \(url) failed: the node's certificate is not signed by --ca \(ca): give the CA that signed the node's "
                + "server certificate"
        }
        if let client = error as? HTTPClientError, client == .connectTimeout || client == .deadlineExceeded || client == .readTimeout {
            return "no answer from \(url) in time: check --url, that the node runs and that no firewall drops the port"
        }
        return "cannot reach \(url): \(text)"
    }
}
