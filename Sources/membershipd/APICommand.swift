import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import UnibusControlPlane
import UnibusCore
import UnibusSupervisor

/// `membershipd api METHOD PATH [--data JSON] --key-file SEED [--url URL] [--ca FILE]`: a signed
/// request to the control plane, for operators and agents.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Send an RFC 9421-signed request to the control plane and print the JSON answer.",
        discussion: """
            Endpoints (JSON bodies for --data):
              GET    /healthz                           status; needs no signature
              GET    /v1/me                             the caller's user record
              GET    /v1/users                          every user
              POST   /v1/users                          {"sign_pub","handle","role"}
              POST   /v1/users/<sign-pub>/revoke
              POST   /v1/rooms                          {"id"}; the caller owns it
              GET    /v1/rooms                          the caller's rooms
              GET    /v1/rooms/<id>/members             that room's members
              PUT    /v1/rooms/<id>/members/<sign-pub>  {"role":"member"|"owner"}
              DELETE /v1/rooms/<id>/members/<sign-pub>
              PUT    /v1/rooms/<id>/keys/<sign-pub>     {"epoch":n,"wrapped":"<base64>"}
              GET    /v1/rooms/<id>/keys/me             the caller's wrapped room keys
            /v1/users is for admins; changing a room's members or keys for its owners and admins (anyone may \
            remove themselves). A 2xx answer is printed (exit 0); an error answer prints its message (exit 1).
            """)

    @Argument(help: "GET, POST, PUT or DELETE.") var method: String
    @Argument(help: "Path, e.g. /v1/me.") var path: String
    @Option(help: "JSON body.") var data: String?
    @Option(name: .customLong("key-file"), help: "The signer's ed25519 seed: an nkey seed (SU…) or 64 hex characters; mode 0600.") var keyFile: String
    @Option(help: "Control plane base URL.") var url = "https://127.0.0.1:8470"
    @Option(help: "CA that signed the node's server certificate.") var ca = NodePaths.local.caCertificate

    func run() async throws {
        let client = try SignedAPIClient(url: url, ca: ca, key: try SigningKeyFile.load(keyFile))
        let text: String
        do {
            text = try await client.send(method, path, body: data.map { Data($0.utf8) })
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        if !text.isEmpty { print(text) }
    }
}

/// Signs requests to one control plane (RFC 9421, a fresh nonce each) and sends them.
final class SignedAPIClient: Sendable {
    let url: String
    let ca: String
    let authority: String
    let key: UserKeyPair
    let http: HTTPClient

    /// - Throws: `ServeError.invalid` for a URL that is not `https://HOST[:PORT]`.
    init(url: String, ca: String, key: UserKeyPair) throws {
        guard let base = URL(string: url), base.scheme == "https", let host = base.host else {
            throw ServeError.invalid("--url must be https://HOST[:PORT], not '\(url)'")
        }
        try OperatorFile.certificate(
            ca, flag: "--ca", fix: "the CA that signed the node's server certificate (\(NodePaths.local.caCertificate) on a development node)")
        self.url = url
        self.ca = ca
        self.key = key
        authority = PublicOrigin(host: host, port: base.port ?? 443).authority  // as the node names its origins
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func shutdown() async { try? await http.shutdown() }

    /// Sends one signed request; returns the body of a 2xx, throws `APIFailure` otherwise.
    func send(_ method: String, _ path: String, body: Data?) async throws -> String {
        let method = method.uppercased()
        guard ["GET", "POST", "PUT", "DELETE"].contains(method) else {
            throw ServeError.invalid("method must be GET, POST, PUT or DELETE, not '\(method)'")
        }
        guard path.hasPrefix("/") else { throw ServeError.invalid("path must start with '/', e.g. /v1/me") }
        if let body, (try? JSONSerialization.jsonObject(with: body)) == nil { throw ServeError.invalid("--data is not valid JSON") }
        let split = path.split(separator: "?", maxSplits: 1).map(String.init)
        let signed = SignedRequest(
            method: method, scheme: "https", authority: authority, path: split[0], query: split.count > 1 ? split[1] : nil, headers: [])
        let headers = try RequestSigner.sign(signed, body: body, with: key, created: Date(), nonce: RequestSigner.randomNonce())
        var request = HTTPClientRequest(url: "https://\(authority)\(path)")
        request.method = .init(rawValue: method)
        request.headers.add(name: "Signature-Input", value: headers.signatureInput)
        request.headers.add(name: "Signature", value: headers.signature)
        if let body, let digest = headers.contentDigest {
            request.headers.add(name: "Content-Digest", value: digest)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(15))
        } catch {
            throw ServeError.notAvailable(ConnectionTrouble.explain(error, url: url, ca: ca))
        }
        let text = String(buffer: try await response.body.collect(upTo: 1 << 24))
        guard (200..<300).contains(response.status.code) else {
            let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            let code = parsed?["error"] as? String ?? "http-\(response.status.code)"
            throw APIFailure(status: Int(response.status.code), code: code, message: parsed?["message"] as? String ?? text)
        }
        return text
    }
}

/// A non-2xx answer: `error: <status> <code>: <message>` and exit 1.
struct APIFailure: Error, CustomStringConvertible {
    let status: Int, code: String, message: String
    var description: String { "\(status) \(code): \(message)" }
}

/// The signer's seed file: 0600, holding an nkey seed (`SU…`) or 64 hex characters.
enum SigningKeyFile {
    static func load(_ path: String) throws -> UserKeyPair {
        let text = String(decoding: try SecureFile.readSecret(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("S"), let (prefix, seed) = try? NKey.decodeSeed(text), prefix == .user {
            return try UserKeyPair(seed: seed)
        }
        if text.utf8.count == 64, let seed = Hex.decode(text) { return try UserKeyPair(seed: seed) }
        throw ServeError.invalid("\(path) must hold an nkey user seed (SU…) or 64 hex characters of an ed25519 seed")
    }
}
