import Foundation
import Testing
import UnibusTestSupport

/// The control plane keeps at most `maxConnections` open at once (hidden 4th value of
/// `--http-timeouts`, 3 here): one more is closed at accept, and a freed slot is usable again.
@Suite("control plane: connections open at once are capped", .serialized)
struct ControlPlaneConnectionCapTests {
    /// A plain TCP connection to 127.0.0.1:`port`; nothing is sent on it.
    static func open(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = FreePort.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw FixtureFailure("connect to \(port) failed: errno \(errno)")
        }
        return fd
    }

    /// Whether the server closed `fd` (EOF or reset) within `seconds`.
    static func closedByServer(_ fd: Int32, within seconds: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) <= 0
    }

    @Test("one connection over the cap is closed at accept; the held ones stay; a freed slot serves again")
    func overTheCapIsClosed() async throws {
        let serve = try await ControlPlaneOriginTests.start(["--http-timeouts", "30,10,10,3"])
        try await Task.sleep(for: .seconds(1))  // the readiness probe's connection is gone and released
        let held = try (0..<3).map { _ in try Self.open(serve.httpPort) }
        defer { for fd in held { close(fd) } }
        try await Task.sleep(for: .milliseconds(300))  // accepted and counted
        let extra = try Self.open(serve.httpPort)
        #expect(Self.closedByServer(extra, within: 3), "a fourth connection was kept open")
        close(extra)
        for fd in held { #expect(!Self.closedByServer(fd, within: 0.1), "a connection within the cap was closed") }
        // Free one slot: a real request is answered again.
        shutdown(held[0], Int32(SHUT_RDWR))
        let api = APIClient(serve)
        var status: Int?
        _ = await eventually(timeout: .seconds(5), every: .milliseconds(100)) {
            status = try? await api.raw("GET", "/healthz", body: nil, headers: []).status
            return status == 200
        }
        #expect(status == 200, "\(serve.log.suffix(1500))")
        await api.shutdown()
    }
}
