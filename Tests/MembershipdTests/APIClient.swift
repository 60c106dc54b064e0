import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import UnibusCore
import UnibusTestSupport

/// Raw HTTPS requests to a running membershipd, signed (or mis-signed) on purpose.
final class APIClient: Sendable {
    let base: String
    let authority: String
    let http: HTTPClient

    struct Answer: CustomStringConvertible {
        let status: Int
        let text: String
        var headers: [(String, String)] = []
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }
        var code: String? { (json as? [String: Any])?["error"] as? String }
        var description: String { "\(status) \(text)" }
    }

    init(_ serve: ServeFixture) {
        authority = "127.0.0.1:\(serve.httpPort)"
        base = "https://\(authority)"
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file("\(serve.tls)/ca.crt")
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func shutdown() async { try? await http.shutdown() }

    /// Sends `method path` with `body`, signed by `key` as `signedMethod`/`signedPath`/`signedBody`
    /// say (default: what is sent), then lets `tweak` edit the headers.
    func send(
        _ method: String, _ path: String, body: Data? = nil, key: UserKeyPair?,
        signedMethod: String? = nil, signedPath: String? = nil, signedBody: Data?? = nil,
        created: Date = Date(), expires: Date? = nil, nonce: NonceValue = RequestSigner.randomNonce(),
        tweak: (inout [(String, String)]) -> Void = { _ in }
    ) async throws -> Answer {
        var headers: [(String, String)] = []
        if let key {
            let signed = SignedRequest(
                method: signedMethod ?? method, scheme: "https", authority: authority,
                path: signedPath ?? path, query: nil, headers: [])
            let h = try RequestSigner.sign(signed, body: signedBody ?? body, with: key, created: created, expires: expires, nonce: nonce)
            headers = [("Signature-Input", h.signatureInput), ("Signature", h.signature)]
            if let d = h.contentDigest { headers.append(("Content-Digest", d)) }
        }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        tweak(&headers)
        return try await raw(method, path, body: body, headers: headers)
    }

    func raw(_ method: String, _ path: String, body: Data?, headers: [(String, String)]) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: .seconds(15))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
        return Answer(status: Int(response.status.code), text: text, headers: response.headers.map { ($0.name, $0.value) })
    }
}
