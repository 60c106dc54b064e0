import Foundation
import UnibusCore
import UnibusProcess
import UnibusTestSupport

/// Raw bytes to a running control plane through Tests/Peers/raw_http_peer.py (TLS or bare TCP),
/// with the moments the answer arrived and the server closed the connection.
struct RawExchange: CustomStringConvertible {
    let received: String
    let closed: Bool
    /// Seconds since the TCP connect.
    let closedAt: Double?
    let firstByteAt: Double?

    /// The first response's status line, header fields (lowercase names) and body.
    var statusLine: String { received.components(separatedBy: "\r\n").first ?? "" }
    var status: Int? { statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
    var headers: [String: String] {
        let head = received.components(separatedBy: "\r\n\r\n").first ?? ""
        var fields: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
    var body: String { received.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n") }
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    var code: String? { json?["error"] as? String }
    var message: String? { json?["message"] as? String }
    var description: String { "closed \(closed) at \(closedAt ?? -1) s, first byte at \(firstByteAt ?? -1) s:\n\(received.prefix(600))" }

    /// Sends a plan (see raw_http_peer.py) to the fixture's control plane; `tls: false` skips the handshake.
    static func run(_ serve: ServeFixture, tls: Bool = true, steps: [[String: Any]], readFor: Double = 4) async throws -> RawExchange {
        let plan = try JSONSerialization.data(withJSONObject: ["steps": steps, "read_for": readFor])
        let script = ServeFixture.repoRoot.appendingPathComponent("Tests/Peers/raw_http_peer.py").path
        let arguments = [
            TestPython.executable, script, "127.0.0.1", "\(serve.httpPort)", tls ? "\(serve.tls)/ca.crt" : "-",
            String(decoding: plan, as: UTF8.self),
        ]
        let data = Data(try await Command("/usr/bin/env", arguments).output().stdout.utf8)
        guard let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureFailure("raw_http_peer.py: \(String(decoding: data, as: UTF8.self))")
        }
        return RawExchange(
            received: j["received"] as? String ?? "", closed: j["closed"] as? Bool ?? false,
            closedAt: j["closed_at"] as? Double, firstByteAt: j["first_byte_at"] as? Double)
    }

    /// One request's bytes, sent at once.
    static func send(_ serve: ServeFixture, _ text: String, readFor: Double = 4) async throws -> RawExchange {
        try await run(serve, steps: [["send": text]], readFor: readFor)
    }

    /// A signed `GET path` whose signature covers `https://<signedFor><path>`, sent with `Host: host`.
    static func signedGet(_ path: String, key: UserKeyPair, signedFor: String, host: String) throws -> String {
        let h = try RequestSigner.sign(
            SignedRequest(method: "GET", scheme: "https", authority: signedFor, path: path, query: nil, headers: []),
            body: nil, with: key, created: Date(), nonce: RequestSigner.randomNonce())
        return
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nSignature-Input: \(h.signatureInput)\r\nSignature: \(h.signature)\r\nConnection: close\r\n\r\n"
    }
}
