import Testing

@testable import UnibusCore

/// A step of a bulk copy that finds the store unavailable is asked again, a few times; an answer
/// (a conflict, a refusal) is never asked again.
@Suite("AllowlistCopy: steps asked again while the store is unavailable")
struct AllowlistCopyRetryTests {
    final class Calls: @unchecked Sendable {
        var count = 0
        var retries: [String] = []
    }

    static func steps(_ calls: Calls) -> AllowlistCopy.Steps {
        AllowlistCopy.Steps(retries: .init(attempts: 3, pause: .zero)) { calls.retries.append($0) }
    }

    @Test func anUnavailableStoreIsAskedAgainUntilItAnswers() async throws {
        let calls = Calls()
        let value = try await Self.steps(calls).run { () async throws -> Int in
            calls.count += 1
            if calls.count < 3 { throw StoreError.outcomeUnknown("timed out") }
            return 7
        }
        #expect(value == 7)
        #expect(calls.count == 3)
        #expect(calls.retries.count == 2 && calls.retries[0].contains("asking again (1 of 2)"), "\(calls.retries)")
    }

    @Test func anAnswerIsNeverAskedAgain() async throws {
        let calls = Calls()
        await #expect(throws: StoreError.roomExists("ops")) {
            try await Self.steps(calls).run { () async throws -> Void in
                calls.count += 1
                throw StoreError.roomExists("ops")
            }
        }
        #expect(calls.count == 1 && calls.retries.isEmpty)
    }

    @Test func theLastFailureIsThrownWhenTriesRunOut() async throws {
        let calls = Calls()
        await #expect(throws: StoreError.unavailable("no quorum")) {
            try await Self.steps(calls).run { () async throws -> Void in
                calls.count += 1
                throw StoreError.unavailable("no quorum")
            }
        }
        #expect(calls.count == 3)
    }
}
