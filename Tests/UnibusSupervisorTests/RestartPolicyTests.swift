import Testing

@testable import UnibusSupervisor

@Suite("nats-server restart policy")
struct RestartPolicyTests {
    @Test func delaysDoubleUpToTheMaximum() {
        var schedule = RestartPolicy().schedule()
        let delays = (0..<10).map { _ in schedule.next(ranFor: .zero) }
        #expect(delays.prefix(4) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        #expect(delays.last == .seconds(30))
        #expect(delays.allSatisfy { $0 <= .seconds(30) })
    }

    @Test func aServerThatRanLongEnoughStartsTheDelaysAgain() {
        var schedule = RestartPolicy().schedule()
        for _ in 0..<6 { _ = schedule.next(ranFor: .zero) }
        #expect(schedule.next(ranFor: .seconds(61)) == .milliseconds(250))
        #expect(schedule.next(ranFor: .seconds(5)) == .milliseconds(500))
    }

    @Test func onlyAServerThatBecameReadyCountsAsStarted() {
        var schedule = RestartPolicy().schedule()
        #expect(!schedule.hasStartedOnce)
        schedule.started()
        #expect(schedule.hasStartedOnce)
    }
}
