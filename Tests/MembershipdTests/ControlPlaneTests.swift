import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusTestSupport

/// The HTTPS control plane over real TLS against a real membershipd and nats-server.
@Suite("control plane: /healthz and the signed API", .serialized)
struct ControlPlaneTests {
    /// ana (admin), bob and cat (members); room "general" owned by ana with bob in it.
    final class World: @unchecked Sendable {
        let serve: ServeFixture
        let api: APIClient
        let ana = Fixture.keyPair(1), bob = Fixture.keyPair(2), cat = Fixture.keyPair(3)

        init() async throws {
            serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
            try await serve.waitUntilReady()
            _ = try await serve.addUser("ana", 1, role: .admin)
            _ = try await serve.addUser("bob", 2)
            _ = try await serve.addUser("cat", 3)
            api = APIClient(serve)
            guard await eventually(timeout: .seconds(10), { FreePort.accepts(serve.httpPort) }) else {
                throw FixtureFailure("nothing listens on the control plane port:\n\(serve.log)")
            }
            let created = try await api.send("POST", "/v1/rooms", body: Data(#"{"id":"general"}"#.utf8), key: ana)
            guard created.status == 201 else { throw FixtureFailure("room: \(created)") }
            let added = try await api.send("PUT", "/v1/rooms/general/members/\(bob.signPub)", body: Data(#"{"role":"member"}"#.utf8), key: ana)
            guard added.status == 200 else { throw FixtureFailure("member: \(added)") }
        }

        /// Every allowlist row except nonces (which every accepted signature adds).
        func state() async throws -> String {
            try await UserCommandTests.dump(serve.db).split(separator: "\n").filter { !$0.contains("INSERT INTO nonces") }.joined(separator: "\n")
        }

        /// A 0600 seed file for the CLI and the Python signer.
        func seedFile(_ pair: UserKeyPair, hex: Bool = false) -> String {
            let path = serve.dir.file("\(pair.signPub.hex.prefix(8)).\(hex ? "hex" : "seed")")
            let text = hex ? Hex.encode(pair.seed) : pair.nkeySeed
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            return path
        }

        deinit { let api = api; Task { await api.shutdown() } }
    }

    @Test("/healthz reports the live posture")
    func healthz() async throws {
        let w = try await World()
        let r = try await w.api.raw("GET", "/healthz", body: nil, headers: [])
        #expect(r.status == 200, "\(r)")
        let j = try #require(r.json as? [String: Any])
        #expect(j["status"] as? String == "ok")
        #expect(j["bus_auth"] as? String == "enforce")
        #expect(j["acl"] as? Bool == true && j["tls"] as? Bool == true)
        #expect(j["store"] as? String == "sqlite")
        #expect(j["cluster"] is NSNull)
        #expect(j["jetstream"] as? String == "ready")
        #expect((j["version"] as? String)?.isEmpty == false)
        #expect((j["last_acl_reload"] as? [String: Any])?["ok"] as? Bool == true)
        #expect((j["server_certificate_expires"] as? String)?.hasPrefix("20") == true)
    }

    @Test("/healthz is 503 when nats-server is down")
    func healthzDegradedWithoutServer() async throws {
        let w = try await World()
        let pid = try #require(w.serve.childPID)
        kill(pid, SIGSTOP)  // frozen: JetStream cannot answer
        defer { kill(pid, SIGCONT) }
        let r = try await w.api.raw("GET", "/healthz", body: nil, headers: [])
        #expect(r.status == 503, "\(r)")
        #expect((r.json as? [String: Any])?["jetstream"] as? String == "not-ready")
    }

    @Test("membershipd api: create a room, add a member who can use it at once, remove them")
    func apiCommandRoundTrip() async throws {
        let w = try await World()
        let url = "https://127.0.0.1:\(w.serve.httpPort)"
        let common = ["--key-file", w.seedFile(w.ana), "--url", url, "--ca", "\(w.serve.tls)/ca.crt"]
        let me = try await CLI.run(["api", "GET", "/v1/me"] + common)
        #expect(me.status == 0, "\(me.stderr)")
        #expect(me.stdout.contains("\"handle\":\"ana\""))
        #expect(try await CLI.run(["api", "POST", "/v1/rooms", "--data", #"{"id":"ops"}"#] + common).status == 0)
        let put = try await CLI.run(["api", "PUT", "/v1/rooms/ops/members/\(w.cat.signPub)", "--data", #"{"role":"member"}"#] + common)
        #expect(put.status == 0, "\(put.stderr)")
        // right after the 2xx, cat may use the room on the bus
        let cat = try await w.serve.connect(w.cat, handle: "cat")
        let events = AsyncRecorder(cat.events)
        let sub = try await cat.subscribe("unibus.room.ops")
        let got = AsyncRecorder(sub.messages, keeping: sub)
        try await cat.publish("unibus.room.ops", payload: Array("hello".utf8))
        #expect(await got.contains { $0.string == "hello" })
        #expect(!events.items.contains { if case .error = $0 { true } else { false } })
        // removal withdraws it on the live connection
        #expect(try await CLI.run(["api", "DELETE", "/v1/rooms/ops/members/\(w.cat.signPub)"] + common).status == 0)
        #expect(await events.contains { DataPlaneTests.violation($0, "Subscription", "unibus.room.ops") })
        // an error answer exits 1 with the code
        let bad = try await CLI.run(["api", "POST", "/v1/rooms", "--data", #"{"id":"a.b"}"#] + common)
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: 400 invalid:"), "\(bad.stderr)")
        await cat.close()
    }

    @Test func roomsMembersAndKeysFollowThePermissionRules() async throws {
        let w = try await World()
        let api = w.api
        #expect(try await api.send("GET", "/v1/rooms", key: w.bob).text.contains("\"general\""))
        #expect(try await api.send("GET", "/v1/rooms", key: w.cat).text == "[]")
        #expect(try await api.send("GET", "/v1/rooms/general/members", key: w.bob).status == 200)
        // wrapped keys: owner puts, the recipient reads its own
        let put = try await api.send(
            "PUT", "/v1/rooms/general/keys/\(w.bob.signPub)", body: Data(#"{"epoch":1,"wrapped":"AAECAw=="}"#.utf8), key: w.ana)
        #expect(put.status == 200, "\(put)")
        let mine = try await api.send("GET", "/v1/rooms/general/keys/me", key: w.bob)
        #expect(mine.status == 200 && mine.text.contains("AAECAw=="), "\(mine)")
        // anyone may leave
        #expect(try await api.send("DELETE", "/v1/rooms/general/members/\(w.bob.signPub)", key: w.bob).status == 204)
        #expect(try await api.send("GET", "/v1/rooms/general/keys/me", key: w.bob).status == 403)
        // users: admins only
        #expect(try await api.send("GET", "/v1/users", key: w.ana).status == 200)
        #expect(try await api.send("GET", "/v1/users", key: w.bob).code == "forbidden")
        let dan = Fixture.keyPair(4)
        let add = try await api.send(
            "POST", "/v1/users", body: Data(#"{"sign_pub":"\#(dan.signPub)","handle":"dan","role":"member"}"#.utf8), key: w.ana)
        #expect(add.status == 201, "\(add)")
        #expect(try await api.send("POST", "/v1/users/\(dan.signPub)/revoke", key: w.ana).status == 200)
        #expect(try await api.send("GET", "/v1/me", key: dan).code == "revoked")
    }

    struct BadRequest: CustomTestStringConvertible, Sendable {
        let name: String
        let status: Int
        let code: String
        let send: @Sendable (World) async throws -> APIClient.Answer
        var testDescription: String { name }
    }

    static let room = Data(#"{"id":"newroom"}"#.utf8)
    static func weakUser(_ key: String) -> Data { Data(#"{"sign_pub":"\#(key)","handle":"mal","role":"member"}"#.utf8) }
    static let badRequests: [BadRequest] = [
        .init(name: "no signature", status: 401, code: "unsigned") { try await $0.api.send("POST", "/v1/rooms", body: room, key: nil) },
        .init(name: "signature over another method", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, signedMethod: "PUT")
        },
        .init(name: "signature over another path", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, signedPath: "/v1/users")
        },
        .init(name: "signature over another body", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, signedBody: .some(Data(#"{"id":"other"}"#.utf8)))
        },
        .init(name: "Content-Digest that does not match the body", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) { h in
                h = h.map { $0.0 == "Content-Digest" ? ($0.0, ContentDigest.header(for: Data("x".utf8))) : $0 }
            }
        },
        .init(name: "created 301 s in the past", status: 401, code: "expired") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, created: Date() - 301)
        },
        .init(name: "created 301 s in the future", status: 401, code: "expired") {
            // `created` is whole seconds: round up so truncation cannot make it 300.x s ahead
            let ahead = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up) + 301)
            return try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, created: ahead)
        },
        .init(name: "expires in the past", status: 401, code: "expired") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana, expires: Date() - 1)
        },
        .init(name: "nonce too short", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) {
                replace(&$0, "Signature-Input", #"nonce="[^"]*""#, #"nonce="short""#)
            }
        },
        .init(name: "nonce too long", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) {
                replace(&$0, "Signature-Input", #"nonce="[^"]*""#, "nonce=\"\(String(repeating: "n", count: 65))\"")
            }
        },
        .init(name: "nonce with bad characters", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) {
                replace(&$0, "Signature-Input", #"nonce="[^"]*""#, #"nonce="abc.def/ghi+jkl=mno""#)
            }
        },
        .init(name: "unknown keyid", status: 401, code: "unknown-key") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: Fixture.keyPair(66))
        },
        .init(name: "malformed keyid", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) {
                replace(&$0, "Signature-Input", #"keyid="[^"]*""#, #"keyid="ana""#)
            }
        },
        .init(name: "revoked keyid", status: 403, code: "revoked") { w in
            _ = try await CLI.run(["user", "revoke", "cat", "--db", w.serve.db])
            return try await w.api.send("POST", "/v1/rooms", body: room, key: w.cat)
        },
        .init(name: "alg other than ed25519", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) {
                replace(&$0, "Signature-Input", #"alg="ed25519""#, #"alg="hmac-sha256""#)
            }
        },
        .init(name: "duplicate signature labels", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) { h in
                let input = h.first { $0.0 == "Signature-Input" }!.1
                h = h.map { $0.0 == "Signature-Input" ? ($0.0, input + ", " + input) : $0 }
            }
        },
        .init(name: "missing signature label", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) { replace(&$0, "Signature", "^sig1=", "sig2=") }
        },
        .init(name: "malformed structured field", status: 401, code: "bad-signature") {
            try await $0.api.send("POST", "/v1/rooms", body: room, key: $0.ana) { replace(&$0, "Signature-Input", "^sig1=\\(", "sig1=((") }
        },
        .init(name: "malformed JSON", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/rooms", body: Data(#"{"id": "#.utf8), key: $0.ana)
        },
        .init(name: "unknown field", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/rooms", body: Data(#"{"id":"newroom","owner":"x"}"#.utf8), key: $0.ana)
        },
        .init(name: "room id with a dot", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/rooms", body: Data(#"{"id":"a.b"}"#.utf8), key: $0.ana)
        },
        .init(name: "room id with a wildcard", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/rooms", body: Data(#"{"id":"a>"}"#.utf8), key: $0.ana)
        },
        .init(name: "body over 64 KiB", status: 413, code: "too-large") {
            try await $0.api.send(
                "POST", "/v1/rooms", body: Data(#"{"id":"x","pad":""#.utf8 + Data(repeating: 0x61, count: 70_000) + Data(#""}"#.utf8)), key: $0.ana)
        },
        .init(name: "a non-member reading a room", status: 403, code: "forbidden") {
            try await $0.api.send("GET", "/v1/rooms/general/members", key: $0.cat)
        },
        .init(name: "a member managing a room it does not own", status: 403, code: "forbidden") {
            try await $0.api.send("PUT", "/v1/rooms/general/members/\($0.cat.signPub)", body: Data(#"{"role":"member"}"#.utf8), key: $0.bob)
        },
        .init(name: "a member revoking a user", status: 403, code: "forbidden") {
            try await $0.api.send("POST", "/v1/users/\($0.cat.signPub)/revoke", key: $0.bob)
        },
        .init(name: "replayed nonce", status: 401, code: "replayed") { w in
            let nonce = RequestSigner.randomNonce()
            _ = try await w.api.send("GET", "/v1/me", key: w.ana, nonce: nonce)
            return try await w.api.send("POST", "/v1/rooms", body: room, key: w.ana, nonce: nonce)
        },
        .init(name: "registering a small-order sign-pub", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/users", body: weakUser(UserCommandTests.weakKeys[4].key), key: $0.ana)
        },
        .init(name: "registering a sign-pub with y = p", status: 400, code: "invalid") {
            try await $0.api.send("POST", "/v1/users", body: weakUser(UserCommandTests.weakKeys[6].key), key: $0.ana)
        },
    ]

    @Test("bad requests are refused with the contract's code and change nothing", arguments: badRequests)
    func badRequestChangesNothing(_ bad: BadRequest) async throws {
        let w = try await World()
        let revoking = bad.name == "revoked keyid"
        let before = try await w.state()
        let answer = try await bad.send(w)
        #expect(answer.status == bad.status, "\(answer)")
        #expect(answer.code == bad.code, "\(answer)")
        #expect(((answer.json as? [String: Any])?["message"] as? String)?.isEmpty == false)
        if !revoking { #expect(try await w.state() == before) }
    }

    @Test("a replay storm: 50 identical signed requests in parallel, exactly one succeeds")
    func replayStorm() async throws {
        let w = try await World()
        let nonce = RequestSigner.randomNonce()
        let body = Data(#"{"id":"storm"}"#.utf8)
        let headers = try RequestSigner.sign(
            SignedRequest(method: "POST", scheme: "https", authority: w.api.authority, path: "/v1/rooms", query: nil, headers: []),
            body: body, with: w.ana, created: Date(), nonce: nonce)
        let fields = [
            ("Signature-Input", headers.signatureInput), ("Signature", headers.signature),
            ("Content-Digest", headers.contentDigest!), ("Content-Type", "application/json"),
        ]
        let answers = try await withThrowingTaskGroup(of: APIClient.Answer.self) { group in
            for _ in 0..<50 { group.addTask { try await w.api.raw("POST", "/v1/rooms", body: body, headers: fields) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.filter { $0.status == 201 }.count == 1)
        #expect(answers.filter { $0.code == "replayed" }.count == 49, "\(answers.map(\.status))")
    }

    @Test("an independent signer (http-message-signatures from PyPI) is accepted, and refused when tampered")
    func independentSigner() async throws {
        let w = try await World()
        let seed = w.seedFile(w.ana, hex: true)
        func run(_ method: String, _ path: String, _ body: String, _ tamper: String) async throws -> [String: Any] {
            let script = ServeFixture.repoRoot.appendingPathComponent("Tests/Peers/http_sig_peer.py").path
            let data = Data(
                try await Command(
                    "/usr/bin/env", [TestPython.executable, script, w.api.base, "\(w.serve.tls)/ca.crt", seed, method, path, body, tamper]
                ).output().stdout.utf8)
            return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? ["raw": String(decoding: data, as: UTF8.self)]
        }
        let me = try await run("GET", "/v1/me", "-", "none")
        #expect(me["status"] as? Int == 200, "\(me)")
        let created = try await run("POST", "/v1/rooms", #"{"id":"pyroom"}"#, "none")
        #expect(created["status"] as? Int == 201, "\(created)")
        let tampered = try await run("POST", "/v1/rooms", #"{"id":"pyroom2"}"#, "body")
        #expect(tampered["status"] as? Int == 401, "\(tampered)")
        let movedPath = try await run("GET", "/v1/me", "-", "path")
        #expect(movedPath["status"] as? Int != 200, "\(movedPath)")
        #expect(try await w.api.send("GET", "/v1/rooms/pyroom2/members", key: w.ana).status == 404)
    }
}

/// Regex replacement in one header's value.
func replace(_ headers: inout [(String, String)], _ name: String, _ pattern: String, _ with: String) {
    headers = headers.map { h in
        guard h.0 == name else { return h }
        return (h.0, h.1.replacingOccurrences(of: pattern, with: with, options: .regularExpression))
    }
}
