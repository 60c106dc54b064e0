import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import UnibusCore
import UnibusStoreSQLite
import UnibusTestSupport

@testable import UnibusControlPlane

/// The signed API's mapping from store outcomes and ACL waits to HTTP, in process (Hummingbird's
/// test client, a real SQLite file, no nats-server): who may write, when the ACL is waited for,
/// and what a failed wait answers.
@Suite("control plane mapping, in process")
struct ControlPlaneMappingTests {
    /// Hummingbird's router test client addresses every request to `localhost`.
    static let origin = "localhost"
    static let admin = Fixture.keyPair(1)
    static let member = Fixture.keyPair(2)

    /// What the handler's ACL wait does, and how often it was asked.
    final class AclWait: Sendable {
        let calls = Mutex(0)
        let outcome: Mutex<Result<String?, AclWaitFailure>>
        init(_ outcome: Result<String?, AclWaitFailure> = .success(nil)) { self.outcome = Mutex(outcome) }
        func wait() throws -> String? {
            calls.withLock { $0 += 1 }
            return try outcome.withLock { $0 }.get()
        }
        var count: Int { calls.withLock { $0 } }
    }

    struct AclWaitFailure: Error, CustomStringConvertible {
        var description: String { "nats-server refused the reload" }
    }

    static func world(_ wait: AclWait) async throws -> (TempDirectory, Application<RouterResponder<ControlPlaneContext>>) {
        let dir = TempDirectory("unibus-test-mapping")
        let store = try SQLiteAllowlistStore(path: dir.file("unibus.db"))
        try await store.addUser(User(signPub: admin.signPub, handle: try Handle("ana"), role: .admin, createdAt: Fixture.epoch))
        try await store.addUser(User(signPub: member.signPub, handle: try Handle("bob"), role: .member, createdAt: Fixture.epoch))
        let plane = try ControlPlane.fixture(store: store, origin: origin, allowlistChanged: { try wait.wait() })
        return (dir, Application(router: plane.router()))
    }

    /// A signed request as a client would send it to `origin`.
    static func request(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, body: String? = nil, key: UserKeyPair?
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        let data = body.map { Data($0.utf8) }
        if let key {
            let signed = SignedRequest(method: method.rawValue, scheme: "https", authority: origin, path: path, query: nil, headers: [])
            let h = try RequestSigner.sign(signed, body: data, with: key, created: Date(), nonce: RequestSigner.randomNonce())
            headers[HTTPField.Name("Signature-Input")!] = h.signatureInput
            headers[HTTPField.Name("Signature")!] = h.signature
            if let digest = h.contentDigest { headers[HTTPField.Name("Content-Digest")!] = digest }
        }
        if data != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: data.map { ByteBuffer(bytes: $0) })
    }

    static func code(_ response: TestResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])?["error"] as? String
    }

    @Test("a write that changes the ACL waits for it, and a cluster's count is sent as Unibus-ACL-Applied")
    func writesWaitForTheACL() async throws {
        let wait = AclWait(.success("2/3"))
        let (dir, app) = try await Self.world(wait)
        try await app.test(.router) { client in
            let body = #"{"sign_pub":"\#(Fixture.keyPair(3).signPub.hex)","handle":"cat","role":"member"}"#
            let created = try await Self.request(client, .post, "/v1/users", body: body, key: Self.admin)
            #expect(created.status == .created)
            #expect(created.headers[HTTPField.Name("Unibus-ACL-Applied")!] == "2/3")
            #expect(wait.count == 1)
            // reads and writes that leave the ACL alone wait for nothing and carry no count
            let me = try await Self.request(client, .get, "/v1/me", key: Self.member)
            #expect(me.status == .ok && me.headers[HTTPField.Name("Unibus-ACL-Applied")!] == nil)
            let room = try await Self.request(client, .post, "/v1/rooms", body: #"{"id":"ops"}"#, key: Self.admin)
            #expect(room.status == .created && wait.count == 2)
            let key = try await Self.request(
                client, .put, "/v1/rooms/ops/keys/\(Self.admin.signPub.hex)", body: #"{"epoch":1,"wrapped":"AAAA"}"#, key: Self.admin)
            #expect(key.status == .ok || key.status == .created, "\(key.status)")
            #expect(wait.count == 2)
        }
        _ = dir
    }

    @Test("a change stored but not in force is a 503, never a success")
    func aFailedWaitIs503() async throws {
        let wait = AclWait(.failure(AclWaitFailure()))
        let (dir, app) = try await Self.world(wait)
        try await app.test(.router) { client in
            let body = #"{"sign_pub":"\#(Fixture.keyPair(3).signPub.hex)","handle":"cat","role":"member"}"#
            let answer = try await Self.request(client, .post, "/v1/users", body: body, key: Self.admin)
            #expect(answer.status == .serviceUnavailable && Self.code(answer) == "unavailable")
            #expect(String(buffer: answer.body).contains("stored but not in force"))
        }
        _ = dir
    }

    @Test("refusals come before any write or wait: unsigned 401, member 403, bad body 400")
    func refusalsNeverWait() async throws {
        let wait = AclWait()
        let (dir, app) = try await Self.world(wait)
        try await app.test(.router) { client in
            let body = #"{"sign_pub":"\#(Fixture.keyPair(4).signPub.hex)","handle":"dan","role":"member"}"#
            let unsigned = try await Self.request(client, .post, "/v1/users", body: body, key: nil)
            #expect(unsigned.status == .unauthorized && Self.code(unsigned) == "unsigned")
            let byMember = try await Self.request(client, .post, "/v1/users", body: body, key: Self.member)
            #expect(byMember.status == .forbidden && Self.code(byMember) == "forbidden")
            let bad = try await Self.request(client, .post, "/v1/users", body: #"{"handle":"dan","handle":"eve"}"#, key: Self.admin)
            #expect(bad.status == .badRequest && Self.code(bad) == "invalid")
            #expect(wait.count == 0)
        }
        _ = dir
    }
}
