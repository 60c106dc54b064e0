import Testing
import UnibusNats

@Suite struct NatsErrorTests {
    @Test func descriptionNamesOperationDetailAndStatus() {
        let error = NatsError(operation: "request on svc.echo", status: 26, detail: "Timeout")
        #expect(error.description == "request on svc.echo: Timeout (natsStatus 26)")
        #expect(error.isTimeout)
        #expect(error.statusText == "Timeout")
    }

    @Test func wrongLastSequenceIsRecognisedOnlyFromGenericErrorWithThatText() {
        #expect(NatsError(operation: "kv create", status: 1, detail: "wrong last sequence: 5").isWrongLastSequence)
        #expect(!NatsError(operation: "kv create", status: 26, detail: "wrong last sequence: 5").isWrongLastSequence)
        #expect(!NatsError(operation: "kv create", status: 1, detail: "stream not found").isWrongLastSequence)
    }

    @Test func eachConvenienceMatchesItsStatus() {
        let cases: [(status: UInt32, matches: (NatsError) -> Bool)] = [
            (11, \.isAuthFailed), (12, \.isNotPermitted), (13, \.isNotFound), (26, \.isTimeout),
            (34, \.isNoResponders), (5, \.isConnectionClosed),
        ]
        for (status, matches) in cases {
            #expect(matches(NatsError(operation: "op", status: status, detail: "x")), "status \(status)")
            #expect(!matches(NatsError(operation: "op", status: 1, detail: "x")), "status \(status)")
        }
    }
}
