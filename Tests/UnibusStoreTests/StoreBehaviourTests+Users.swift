import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// The allowlist behaviour every store must show. Each test runs once per store kind.
@Suite("store behaviour: users")
struct StoreUserBehaviourTests {
    @Test(arguments: StoreKind.allCases)
    func addedUserCanBeReadBackByKeyAndHandle(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let ana = Fixture.user("ana", 1, role: .admin)
        try await h.store.addUser(ana)
        #expect(try await h.store.user(ana.signPub) == ana)
        #expect(try await h.store.user(handle: ana.handle) == ana)
        #expect(try await h.store.user(Fixture.keyPair(2).signPub) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func usersAreListedByHandle(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        for (i, handle) in ["zed", "ana", "mia"].enumerated() { try await h.store.addUser(Fixture.user(handle, i)) }
        #expect(try await h.store.users().map(\.handle.value) == ["ana", "mia", "zed"])
    }

    @Test(arguments: StoreKind.allCases)
    func reAddingAnActiveKeyIsRefusedAndChangesNothing(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let ana = Fixture.user("ana", 1)
        try await h.store.addUser(ana)
        var again = ana
        again.handle = try Handle("other")
        again.role = .admin
        await #expect(throws: StoreError.alreadyRegistered(signPub: ana.signPub.hex, status: .active)) { try await h.store.addUser(again) }
        #expect(try await h.store.users() == [ana])
    }

    @Test(arguments: StoreKind.allCases)
    func reAddingARevokedKeyIsRefused(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let ana = Fixture.user("ana", 1)
        try await h.store.addUser(ana)
        let revoked = try await h.store.revokeUser(ana.signPub, at: Fixture.epoch + 5)
        await #expect(throws: StoreError.alreadyRegistered(signPub: ana.signPub.hex, status: .revoked)) { try await h.store.addUser(ana) }
        #expect(try await h.store.users() == [revoked])
    }

    @Test(arguments: StoreKind.allCases)
    func aTakenHandleIsRefused(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        try await h.store.addUser(Fixture.user("ana", 1))
        await #expect(throws: StoreError.handleTaken("ana")) { try await h.store.addUser(Fixture.user("ana", 2)) }
        #expect(try await h.store.users().count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func revokeKeepsTheRecordAndMarksIt(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let ana = Fixture.user("ana", 1)
        try await h.store.addUser(ana)
        let when = Fixture.epoch + 60
        let revoked = try await h.store.revokeUser(ana.signPub, at: when)
        #expect(revoked.status == .revoked && revoked.revokedAt == when)
        #expect(try await h.store.user(ana.signPub) == revoked)
        // Revoking again changes nothing, not even the date.
        #expect(try await h.store.revokeUser(ana.signPub, at: when + 60) == revoked)
    }

    @Test(arguments: StoreKind.allCases)
    func revokingAnUnknownUserIsRefused(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let key = Fixture.keyPair(7).signPub
        await #expect(throws: StoreError.userNotFound(key.hex)) { _ = try await h.store.revokeUser(key, at: Fixture.epoch) }
        await #expect(throws: StoreError.userNotFound("nobody")) { _ = try await h.store.user(matching: "nobody") }
    }

    @Test(arguments: StoreKind.allCases)
    func usersAreFoundBySignPubOrHandle(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let ana = Fixture.user("ana", 1)
        try await h.store.addUser(ana)
        #expect(try await h.store.user(matching: "ana") == ana)
        #expect(try await h.store.user(matching: ana.signPub.hex.uppercased()) == ana)
        await #expect(throws: ValidationError.handle("a.b")) { _ = try await h.store.user(matching: "a.b") }
    }

    @Test("two writers adding the same handle at once: exactly one wins", arguments: StoreKind.allCases)
    func concurrentAddsOfOneHandle(_ kind: StoreKind) async throws {
        let h = try await StoreHarness(kind)
        let stores = [h.store, try await h.another()]
        for round in 0..<10 {
            let results = await withTaskGroup(of: Bool.self) { group in
                for (i, store) in stores.enumerated() {
                    let user = Fixture.user("race\(round)", 100 + round * 2 + i)
                    group.addTask { (try? await store.addUser(user)) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1, "round \(round): \(results)")
        }
        #expect(try await h.store.users().count == 10)
    }
}
