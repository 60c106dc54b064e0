import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// Contract §4 through a real membershipd: strict bodies, safe retries, a room always keeps an owner.
@Suite("control plane: strict bodies, safe retries, last owners", .serialized)
struct ControlPlaneSafetyTests {
    typealias World = ControlPlaneTests.World

    static func json(_ text: String) -> Data { Data(text.utf8) }

    @Test("a room always keeps an owner: the last owner cannot leave or be demoted, by anyone")
    func lastOwnerStays() async throws {
        let w = try await World()
        let (ana, bob) = (w.ana.signPub, w.bob.signPub)
        let leave = try await w.api.send("DELETE", "/v1/rooms/general/members/\(ana)", key: w.ana)
        #expect(leave.status == 409 && leave.code == "conflict", "\(leave)")
        #expect(leave.text.contains("last owner"), "\(leave)")
        let demote = try await w.api.send("PUT", "/v1/rooms/general/members/\(ana)", body: Self.json(#"{"role":"member"}"#), key: w.ana)
        #expect(demote.status == 409 && demote.code == "conflict", "\(demote)")
        // an admin cannot take the last owner away either
        #expect(try await w.api.send("POST", "/v1/rooms", body: Self.json(#"{"id":"bobs"}"#), key: w.bob).status == 201)
        #expect(try await w.api.send("DELETE", "/v1/rooms/bobs/members/\(bob)", key: w.ana).status == 409)
        #expect(try await w.api.send("PUT", "/v1/rooms/bobs/members/\(bob)", body: Self.json(#"{"role":"member"}"#), key: w.ana).status == 409)
        let members = try await w.api.send("GET", "/v1/rooms/general/members", key: w.ana)
        #expect(members.text.contains(#""role":"owner""#), "\(members)")
        // with two owners, one may leave; then the other is the last
        #expect(try await w.api.send("PUT", "/v1/rooms/general/members/\(bob)", body: Self.json(#"{"role":"owner"}"#), key: w.ana).status == 200)
        #expect(try await w.api.send("DELETE", "/v1/rooms/general/members/\(ana)", key: w.ana).status == 204)
        #expect(try await w.api.send("DELETE", "/v1/rooms/general/members/\(bob)", key: w.bob).status == 409)
    }

    @Test("retries are safe: the same create again is 200 with the record, a different one 409")
    func retriesAreSafe() async throws {
        let w = try await World()
        let room = Self.json(#"{"id":"retry"}"#)
        let first = try await w.api.send("POST", "/v1/rooms", body: room, key: w.ana)
        #expect(first.status == 201, "\(first)")
        let again = try await w.api.send("POST", "/v1/rooms", body: room, key: w.ana)
        #expect(again.status == 200, "\(again)")
        #expect(again.text == first.text)
        let other = try await w.api.send("POST", "/v1/rooms", body: room, key: w.bob)
        #expect(other.status == 409 && other.code == "conflict", "\(other)")
        // a creator who has left the room gets a conflict, not the room
        let bob = w.bob.signPub, ana = w.ana.signPub
        #expect(try await w.api.send("PUT", "/v1/rooms/retry/members/\(bob)", body: Self.json(#"{"role":"owner"}"#), key: w.ana).status == 200)
        #expect(try await w.api.send("DELETE", "/v1/rooms/retry/members/\(ana)", key: w.ana).status == 204)
        let left = try await w.api.send("POST", "/v1/rooms", body: room, key: w.ana)
        #expect(left.status == 409 && left.code == "conflict", "\(left)")

        let dan = Fixture.keyPair(4)
        let user = Self.json(#"{"sign_pub":"\#(dan.signPub)","handle":"dan","role":"member"}"#)
        let added = try await w.api.send("POST", "/v1/users", body: user, key: w.ana)
        #expect(added.status == 201, "\(added)")
        let retried = try await w.api.send("POST", "/v1/users", body: user, key: w.ana)
        #expect(retried.status == 200, "\(retried)")
        #expect(retried.text == added.text)
        let renamed = Self.json(#"{"sign_pub":"\#(dan.signPub)","handle":"dan2","role":"member"}"#)
        #expect(try await w.api.send("POST", "/v1/users", body: renamed, key: w.ana).status == 409)
        let promoted = Self.json(#"{"sign_pub":"\#(dan.signPub)","handle":"dan","role":"admin"}"#)
        #expect(try await w.api.send("POST", "/v1/users", body: promoted, key: w.ana).status == 409)
        // a revoked key stays revoked, even when asked for exactly as registered
        #expect(try await w.api.send("POST", "/v1/users/\(dan.signPub)/revoke", key: w.ana).status == 200)
        let revoked = try await w.api.send("POST", "/v1/users", body: user, key: w.ana)
        #expect(revoked.status == 409 && revoked.text.contains("already registered") && revoked.text.contains("revoked"), "\(revoked)")
    }

    @Test("strict bodies: a duplicate key or a non-integer number is 400 invalid and changes nothing")
    func strictBodies() async throws {
        let w = try await World()
        let before = try await w.state()
        let duplicate = try await w.api.send("POST", "/v1/rooms", body: Self.json(#"{"id":"one","id":"two"}"#), key: w.ana)
        #expect(duplicate.status == 400 && duplicate.code == "invalid" && duplicate.text.contains("duplicate key"), "\(duplicate)")
        let fraction = try await w.api.send(
            "PUT", "/v1/rooms/general/keys/\(w.bob.signPub)", body: Self.json(#"{"epoch":1.0,"wrapped":"AAECAw=="}"#), key: w.ana)
        #expect(fraction.status == 400 && fraction.code == "invalid" && fraction.text.contains("integers"), "\(fraction)")
        let huge = try await w.api.send(
            "PUT", "/v1/rooms/general/keys/\(w.bob.signPub)", body: Self.json(#"{"epoch":9007199254740993,"wrapped":"AAECAw=="}"#), key: w.ana)
        #expect(huge.status == 400 && huge.code == "invalid", "\(huge)")
        let bom = try await w.api.send("POST", "/v1/rooms", body: Data([0xEF, 0xBB, 0xBF]) + Self.json(#"{"id":"bom"}"#), key: w.ana)
        #expect(bom.status == 400 && bom.code == "invalid", "\(bom)")
        #expect(try await w.state() == before)
    }
}
