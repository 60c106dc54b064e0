import Testing

@testable import UnibusSupervisor

/// membershipd acts on three of nats-server's own messages; text a client gets into the log
/// (its nkey or connection name, quoted in an authentication error) must never count as one.
@Suite("nats-server log lines")
struct NatsServerLogLineTests {
    @Test func nats_serversOwnMessagesAreRecognised() {
        #expect(NatsServerLogLine("[14225] 2026/11/28 03:58:09.428456 [INF] Server is ready") == .ready)
        #expect(NatsServerLogLine("[31019] 2026/11/28 03:03:19.177075 [INF] Reloaded server configuration") == .reloaded)
        #expect(
            NatsServerLogLine("[31019] 2026/11/28 03:03:19.177075 [ERR] Failed to reload server configuration: bad users")
                == .reloadFailed("bad users"))
        #expect(NatsServerLogLine("[7] [INF] Reloaded server configuration") == .reloaded)  // logtime off
        #expect(NatsServerLogLine("[18975] 2026/11/28 04:01:28.922477 [INF] Reloaded server configuration (sha256:f9e45d58)") == .reloaded)
        #expect(NatsServerLogLine("[18975] 2026/11/28 04:01:28.922434 [INF] Reloaded: authorization users") == .other)
    }

    /// Captured from nats-server 2.9.10 with CONNECTs a client chose (nkey, name).
    @Test(
        "a client's text in the log is never a readiness or reload outcome",
        arguments: [
            #"[14225] 2026/11/28 03:58:10.549371 [ERR] 127.0.0.1:43116 - cid:4 - authentication error - Nkey "UX\nReloaded server configuration""#,
            #"[14225] 2026/11/28 03:58:11.151876 [ERR] 127.0.0.1:43138 - cid:6 - "n\nReloaded server configuration" - authentication error - Nkey "UA6U""#,
            #"[14225] 2026/11/28 03:58:11.151876 [ERR] 127.0.0.1:43138 - cid:6 - authentication error - Nkey "Failed to reload server configuration: x""#,
            #"[14225] 2026/11/28 03:58:11.151876 [ERR] 127.0.0.1:43138 - cid:6 - "[INF] Server is ready" - authentication error"#,
            "Reloaded server configuration",
            "x [1] 2026/11/28 00:00:00.000000 [INF] Reloaded server configuration",
        ])
    func clientTextIsNoOutcome(_ line: String) {
        #expect(NatsServerLogLine(line) == .other)
    }

    @Test func theLevelIsReadFromItsPlaceOnly() {
        #expect(NatsServerLogLine.level("[1] 2026/11/28 00:00:00.000000 [WRN] slow consumer") == "WRN")
        #expect(NatsServerLogLine.level(#"[1] 2026/11/28 00:00:00.000000 [INF] client "[ERR]""#) == "INF")
        #expect(NatsServerLogLine.level("no level here") == nil)
    }
}
