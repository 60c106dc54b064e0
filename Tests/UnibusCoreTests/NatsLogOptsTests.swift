import Testing
import UnibusCore

@Suite("natsLogOpts is the contract's pure toggle")
struct NatsLogOptsTests {
    @Test(arguments: [
        (String?.none, String?.none, [true, false, false, false]),
        (nil, "1", [true, false, false, true]),
        ("1", nil, [false, true, true, true]),
        ("1", "1", [false, true, true, true]),
        ("1", "0", [false, true, true, true]),
        ("0", "0", [true, false, false, false]),
        ("true", "yes", [true, false, false, false]),
        ("", "", [true, false, false, false]),
        (" 1", "1 ", [true, false, false, false]),
    ])
    func table(_ debug: String?, _ monitor: String?, _ expected: [Bool]) {
        let o = natsLogOpts(debugEnv: debug, monitorEnv: monitor)
        #expect([o.noLog, o.debug, o.trace, o.monitor] == expected)
    }

    @Test func readsTheEnvironmentVariables() {
        let o = NatsLogOptions(environment: ["UNIBUS_NATS_MONITOR": "1"])
        #expect(o == NatsLogOptions(noLog: true, debug: false, trace: false, monitor: true))
    }
}
