import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusTestSupport

@testable import UnibusStoreKV

/// "Nothing was changed" only where it is certain: a KV write that was sent but not
/// acknowledged may have landed, and says so.
@Suite("KV store: write outcomes")
struct KVWriteOutcomeTests {
    static let timeout = NatsKVError.unavailable(operation: "kvStore_Create UNIBUS_users", detail: "timeout")

    @Test func aWriteThatWasNotAcknowledgedHasAnUnknownOutcome() {
        let error = KVAllowlistStore.writeError(Self.timeout)
        guard case .outcomeUnknown = error else { Issue.record("expected outcomeUnknown, got \(error)"); return }
        #expect("\(error)".contains("may or may not have been stored"), "\(error)")
        #expect("\(error)".contains("check with `membershipd user list`"), "\(error)")
        #expect(!"\(error)".contains("nothing was changed"), "\(error)")
    }

    @Test func aReadThatWasNotAnsweredChangedNothing() {
        let error = KVAllowlistStore.storeError(Self.timeout)
        #expect(error == .unavailable(Self.timeout.description))
        #expect("\(error)".hasSuffix("nothing was changed, retry"), "\(error)")
    }

    @Test func aWriteRefusedBeforeSendingChangedNothing() {
        let error = KVAllowlistStore.writeError(.wrongLastSequence(bucket: "UNIBUS_users", key: "k", detail: "wrong last sequence: 1"))
        guard case .conflict = error else { Issue.record("expected conflict, got \(error)"); return }
    }

    @Test func anAddWhenTheServerIsGoneSendsNothingAndSaysSo() async throws {
        let world = try await KVWorld(KVStoreConfiguration(wait: .milliseconds(500)))
        await world.server.stop()
        let error = await storeError { try await world.store.addUser(Fixture.user("ana", 1)) }
        guard case .unavailable = error else { Issue.record("expected unavailable, got \(String(describing: error))"); return }
        #expect("\(error!)".contains("nothing was changed"))
    }

    @Test func aFailureAfterAWriteWasSentHasAnUnknownOutcome() async throws {
        let world = try await KVWorld()
        let error = await storeError {
            try await world.store.mayHaveWritten { throw StoreError.unavailable("kvStore_Get: timeout") }
        }
        #expect(error == .outcomeUnknown("kvStore_Get: timeout"))
    }
}
