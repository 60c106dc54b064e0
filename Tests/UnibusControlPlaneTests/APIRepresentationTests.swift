import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import UnibusCore
import UnibusProcess
import UnibusStoreSQLite
import UnibusTestSupport

@testable import UnibusControlPlane

/// The exact JSON bodies of the signed API (contract section 4): records and errors. They are
/// contract, so they are pinned byte for byte here, apart from what the stores write.
@Suite("control plane: API JSON, byte for byte")
struct APIRepresentationTests {
    typealias M = ControlPlaneMappingTests
    static let ana = M.admin
    static let bob = M.member
    static let cat = Fixture.keyPair(3)
    static let anaFixed = "2025-11-24T16:00:00Z"  // Fixture.epoch

    /// The server's clock, on a whole second (ISO 8601 bodies carry no fraction) and near
    /// the real time (signatures are checked against it).
    static let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    static var nowText: String { now.formatted(.iso8601) }

    static func world() async throws -> (TempDirectory, Application<RouterResponder<ControlPlaneContext>>) {
        let dir = TempDirectory("unibus-test-representation")
        let store = try SQLiteAllowlistStore(path: dir.file("unibus.db"))
        try await store.addUser(User(signPub: ana.signPub, handle: try Handle("ana"), role: .admin, createdAt: Fixture.epoch))
        try await store.addUser(User(signPub: bob.signPub, handle: try Handle("bob"), role: .member, createdAt: Fixture.epoch))
        let plane = try ControlPlane.fixture(store: store, origin: M.origin, now: { now })
        return (dir, Application(router: plane.router()))
    }

    static func user(_ key: UserKeyPair, _ handle: String, _ role: String, created: String, revoked: String? = nil) -> String {
        let status = revoked == nil ? "active" : "revoked"
        let revokedField = revoked.map { #""revoked_at":"\#($0)","# } ?? ""
        return #"{"created_at":"\#(created)","handle":"\#(handle)","nkey":"\#(key.signPub.nkey)",\#(revokedField)"#
            + #""role":"\#(role)","sign_pub":"\#(key.signPub.hex)","status":"\#(status)"}"#
    }

    static func expect(
        _ response: TestResponse, _ status: HTTPResponse.Status, _ body: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(String(buffer: response.body) == body, sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    }

    @Test func usersAreShownWithTheirNkeyAndISO8601Dates() async throws {
        let (dir, app) = try await Self.world()
        try await app.test(.router) { client in
            let anaJSON = Self.user(Self.ana, "ana", "admin", created: Self.anaFixed)
            let bobJSON = Self.user(Self.bob, "bob", "member", created: Self.anaFixed)
            Self.expect(try await M.request(client, .get, "/v1/me", key: Self.ana), .ok, anaJSON)
            Self.expect(try await M.request(client, .get, "/v1/users", key: Self.ana), .ok, "[\(anaJSON),\(bobJSON)]")

            let body = #"{"sign_pub":"\#(Self.cat.signPub.hex)","handle":"cat","role":"member"}"#
            let catJSON = Self.user(Self.cat, "cat", "member", created: Self.nowText)
            Self.expect(try await M.request(client, .post, "/v1/users", body: body, key: Self.ana), .created, catJSON)
            // the retry of an identical create: 200 with the stored record
            Self.expect(try await M.request(client, .post, "/v1/users", body: body, key: Self.ana), .ok, catJSON)
            Self.expect(
                try await M.request(client, .post, "/v1/users/\(Self.cat.signPub.hex)/revoke", key: Self.ana), .ok,
                Self.user(Self.cat, "cat", "member", created: Self.nowText, revoked: Self.nowText))
        }
        _ = dir
    }

    @Test func roomsMembersAndKeysAreShownAsTheContractSays() async throws {
        let (dir, app) = try await Self.world()
        let a = Self.ana.signPub.hex, b = Self.bob.signPub.hex, t = Self.nowText
        try await app.test(.router) { client in
            let room = #"{"created_at":"\#(t)","created_by":"\#(a)","id":"ops"}"#
            Self.expect(try await M.request(client, .post, "/v1/rooms", body: #"{"id":"ops"}"#, key: Self.ana), .created, room)
            Self.expect(try await M.request(client, .post, "/v1/rooms", body: #"{"id":"ops"}"#, key: Self.ana), .ok, room)
            Self.expect(try await M.request(client, .get, "/v1/rooms", key: Self.ana), .ok, "[\(room)]")

            let bobMember = #"{"added_at":"\#(t)","role":"member","room":"ops","sign_pub":"\#(b)"}"#
            let anaOwner = #"{"added_at":"\#(t)","role":"owner","room":"ops","sign_pub":"\#(a)"}"#
            Self.expect(
                try await M.request(client, .put, "/v1/rooms/ops/members/\(b)", body: #"{"role":"member"}"#, key: Self.ana), .ok, bobMember)
            let members = a < b ? "[\(anaOwner),\(bobMember)]" : "[\(bobMember),\(anaOwner)]"
            Self.expect(try await M.request(client, .get, "/v1/rooms/ops/members", key: Self.bob), .ok, members)

            // bytes 0xfb 0xff 0xbf: base64 "+/+/", slashes not escaped
            let key = #"{"created_at":"\#(t)","epoch":7,"recipient":"\#(b)","room":"ops","wrapped":"+/+/"}"#
            Self.expect(
                try await M.request(client, .put, "/v1/rooms/ops/keys/\(b)", body: #"{"epoch":7,"wrapped":"+/+/"}"#, key: Self.ana), .ok, key)
            Self.expect(try await M.request(client, .get, "/v1/rooms/ops/keys/me", key: Self.bob), .ok, "[\(key)]")

            let removed = try await M.request(client, .delete, "/v1/rooms/ops/members/\(b)", key: Self.bob)
            #expect(removed.status == .noContent && removed.body.readableBytes == 0)
        }
        _ = dir
    }

    @Test func errorsAreTheContractsBodyWithCodeThenMessage() async throws {
        let (dir, app) = try await Self.world()
        try await app.test(.router) { client in
            Self.expect(
                try await M.request(client, .get, "/v1/rooms/nope/members", key: Self.ana), .notFound,
                #"{"error":"not-found","message":"room 'nope' does not exist"}"#)
            Self.expect(
                try await M.request(client, .post, "/v1/rooms", body: #"{"id":"Bad Room"}"#, key: Self.ana), .badRequest,
                #"{"error":"invalid","message":"invalid room id 'Bad Room': expected 1-64 characters of a-z, 0-9, '_' or '-' (starting with a letter or digit); no dots, wildcards or spaces"}"#
            )
            _ = try await M.request(client, .post, "/v1/rooms", body: #"{"id":"ops"}"#, key: Self.ana)
            Self.expect(
                try await M.request(client, .post, "/v1/rooms", body: #"{"id":"ops"}"#, key: Self.bob), .conflict,
                #"{"error":"conflict","message":"room 'ops' already exists; nothing was changed"}"#)
            Self.expect(
                try await M.request(client, .post, "/v1/users", body: #"{"handle":"dan"}"#, key: Self.bob), .forbidden,
                #"{"error":"forbidden","message":"only admins may manage users"}"#)
            // the default encoder escapes slashes in messages
            Self.expect(
                try await M.request(client, .get, "/v1/nothing/here", key: Self.ana), .notFound,
                #"{"error":"not-found","message":"no such endpoint: GET \/v1\/nothing\/here"}"#)
            // the last active admin cannot revoke themselves (or be revoked) over the API
            Self.expect(
                try await M.request(client, .post, "/v1/users/\(Self.ana.signPub.hex)/revoke", key: Self.ana), .conflict,
                #"{"error":"conflict","message":"ana is the last active admin; add another admin first (nothing was changed; `membershipd user revoke` on a node still can)"}"#
            )
            #expect(try await M.request(client, .get, "/v1/me", key: Self.ana).status == .ok)
            // a path that exists under other methods: 405 naming them (RFC 9110 15.5.6)
            let wrongMethod = try await M.request(client, .put, "/v1/me", body: "{}", key: Self.ana)
            Self.expect(wrongMethod, .methodNotAllowed, #"{"error":"invalid","message":"\/v1\/me does not answer PUT; it answers GET, HEAD"}"#)
            #expect(wrongMethod.headers[.allow] == "GET, HEAD")
            let members = try await M.request(client, .post, "/v1/rooms/ops/members/\(Self.bob.signPub.hex)", body: "{}", key: Self.ana)
            #expect(members.status == .methodNotAllowed)
            #expect(members.headers[.allow] == "PUT, DELETE")
        }
        _ = dir
    }

    @Test func aStorageFailureIsA503ThatNamesNoFileOrRecord() async throws {
        let (dir, app) = try await Self.world()
        // A row that fails validation, written behind the store's back.
        let bad = Fixture.keyPair(5).signPub.hex
        let insert = "INSERT INTO users VALUES ('\(bad)', 'Bad Handle', 'member', 'active', 1764000000, NULL);"
        try await Command("/usr/bin/sqlite3", [dir.file("unibus.db"), insert]).succeed()
        try await app.test(.router) { client in
            let answer = try await M.request(client, .get, "/v1/users", key: Self.ana)
            Self.expect(
                answer, .serviceUnavailable,
                #"{"error":"unavailable","message":"the allowlist store on this node cannot serve this request (a storage failure); the node's log has the details"}"#
            )
            #expect(!String(buffer: answer.body).contains(bad))
        }
        _ = dir
    }
}
