import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// What the control plane answers below its router, how long it keeps a connection, and HTTP/1.0,
/// with raw bytes over TLS. Timeouts are shortened with the hidden `--http-timeouts`: idle 3 s,
/// request head 1 s, body 1 s.
@Suite("control plane transport: JSON protocol errors, connection time bounds, HTTP/1.0", .serialized)
struct ControlPlaneTransportTests {
    static func start() async throws -> ServeFixture {
        let serve = try await ControlPlaneOriginTests.start(["--http-timeouts", "3,1,1"])
        return serve
    }

    struct Malformed: Sendable {
        let name: String
        let status: Int
        let code: String
        let request: @Sendable (_ host: String) -> String
    }

    static let malformed: [Malformed] = [
        .init(name: "lowercase method", status: 400, code: "invalid") { "get /healthz HTTP/1.1\r\nHost: \($0)\r\n\r\n" },
        .init(name: "unknown method", status: 400, code: "invalid") { "BREW /healthz HTTP/1.1\r\nHost: \($0)\r\n\r\n" },
        .init(name: "a method the API does not use", status: 405, code: "invalid") { "PATCH /v1/me HTTP/1.1\r\nHost: \($0)\r\n\r\n" },
        .init(name: "TRACE", status: 405, code: "invalid") { "TRACE /healthz HTTP/1.1\r\nHost: \($0)\r\n\r\n" },
        .init(name: "not HTTP at all", status: 400, code: "invalid") { _ in "HELLO THERE\r\n\r\n" },
        .init(name: "HTTP/2.0 request line", status: 400, code: "invalid") { "GET /healthz HTTP/2.0\r\nHost: \($0)\r\n\r\n" },
        .init(name: "100 KB Signature-Input", status: 431, code: "too-large") {
            "GET /v1/me HTTP/1.1\r\nHost: \($0)\r\nSignature-Input: sig1=(\(String(repeating: "a", count: 100_000)))\r\n\r\n"
        },
        .init(name: "200 header fields", status: 431, code: "too-large") {
            "GET /healthz HTTP/1.1\r\nHost: \($0)\r\n" + (0..<200).map { "X-F\($0): 1\r\n" }.joined() + "\r\n"
        },
        .init(name: "bad chunk size", status: 400, code: "invalid") {
            "POST /v1/rooms HTTP/1.1\r\nHost: \($0)\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        },
        .init(name: "two Host fields", status: 400, code: "invalid") { "GET /healthz HTTP/1.1\r\nHost: \($0)\r\nHost: \($0)\r\n\r\n" },
        .init(name: "HTTP/1.1 without Host", status: 400, code: "invalid") { _ in "GET /healthz HTTP/1.1\r\n\r\n" },
        .init(name: "a target that is not a path", status: 400, code: "invalid") { "GET healthz HTTP/1.1\r\nHost: \($0)\r\n\r\n" },
    ]

    @Test("errors below the router have the JSON error body, and the connection is closed")
    func belowRouterErrorsAreJSON() async throws {
        let serve = try await Self.start()
        let host = "127.0.0.1:\(serve.httpPort)"
        for bad in Self.malformed {
            let r = try await RawExchange.send(serve, bad.request(host), readFor: 2.5)
            #expect(r.status == bad.status, "\(bad.name): \(r)")
            #expect(r.code == bad.code && r.message?.isEmpty == false, "\(bad.name): \(r)")
            #expect(r.headers["content-type"] == "application/json" && r.headers["content-length"] == "\(r.body.utf8.count)", "\(bad.name): \(r)")
            #expect(r.closed && (r.closedAt ?? 9) < 2, "\(bad.name): \(r)")  // long before the 3 s idle bound
            if bad.status == 405 { #expect(r.headers["allow"] == "GET, HEAD, POST, PUT, DELETE", "\(bad.name): \(r)") }
        }
        // a response to CONNECT has no body (NIO frames it so), but it is refused all the same
        let connect = try await RawExchange.send(serve, "CONNECT \(host) HTTP/1.1\r\nHost: \(host)\r\n\r\n", readFor: 2.5)
        #expect(connect.status == 405 && connect.closed, "\(connect)")
    }

    @Test("router errors keep the JSON body: unknown route, HEAD without a body")
    func routerErrorsAndHead() async throws {
        let serve = try await Self.start()
        let host = "127.0.0.1:\(serve.httpPort)"
        let missing = try await RawExchange.send(serve, try RawExchange.signedGet("/v1/nope", key: Fixture.keyPair(1), signedFor: host, host: host))
        #expect(missing.status == 404 && missing.code == "not-found", "\(missing)")
        let head = try await RawExchange.send(serve, "HEAD /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] != nil, "\(head)")
    }

    @Test("HTTP/1.0 gets an HTTP/1.0 answer with Content-Length, never chunked, and the connection closed")
    func http10() async throws {
        let serve = try await Self.start()
        for request in [
            "GET /healthz HTTP/1.0\r\n\r\n", "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:\(serve.httpPort)\r\nConnection: keep-alive\r\n\r\n",
        ] {
            let r = try await RawExchange.send(serve, request, readFor: 2.5)
            #expect(r.statusLine == "HTTP/1.0 200 OK", "\(r)")
            #expect(r.headers["content-length"] == "\(r.body.utf8.count)" && r.headers["transfer-encoding"] == nil, "\(r)")
            #expect(r.json?["status"] as? String == "ok", "\(r)")
            #expect(r.closed && (r.closedAt ?? 9) < 2, "\(r)")
        }
        let error = try await RawExchange.send(serve, "GET /v1/me HTTP/1.0\r\n\r\n", readFor: 2.5)
        #expect(error.statusLine.hasPrefix("HTTP/1.0 401") && error.code == "unsigned" && error.closed, "\(error)")
    }

    @Test("an idle keep-alive connection is closed after the idle bound (3 s here)")
    func idleConnectionClosed() async throws {
        let serve = try await Self.start()
        let r = try await RawExchange.send(serve, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(serve.httpPort)\r\n\r\n", readFor: 8)
        #expect(r.status == 200, "\(r)")
        let idle = (r.closedAt ?? 99) - (r.firstByteAt ?? 0)
        #expect(r.closed && idle > 2 && idle < 4.5, "idle for \(idle) s: \(r)")
    }

    @Test("a connection that never sends a request is closed after the head bound, with or without a TLS handshake")
    func silentConnectionClosed() async throws {
        let serve = try await Self.start()
        for tls in [true, false] {
            let r = try await RawExchange.run(serve, tls: tls, steps: [], readFor: 6)
            #expect(r.closed && (r.closedAt ?? 99) < 2.5 && r.received.isEmpty, "tls \(tls): \(r)")
        }
    }

    @Test("a request head trickled byte by byte gets 408 after the head bound (slowloris)")
    func slowHead() async throws {
        let serve = try await Self.start()
        let r = try await RawExchange.run(
            serve,
            steps: [
                ["send": "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(serve.httpPort)\r\n"], ["trickle": "X-Slow: 1\r\n", "every": 0.2, "for": 6],
            ],
            readFor: 2)
        #expect(r.status == 408 && r.code == "timeout", "\(r)")
        #expect(r.closed && (r.closedAt ?? 99) < 2.5, "\(r)")
    }

    @Test("an incomplete or trickled body gets 408 after the body bound")
    func slowBody() async throws {
        let serve = try await Self.start()
        let head = "POST /v1/rooms HTTP/1.1\r\nHost: 127.0.0.1:\(serve.httpPort)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        let stalled = try await RawExchange.run(serve, steps: [["send": head + "{\"id\":"]], readFor: 6)
        let trickled = try await RawExchange.run(serve, steps: [["send": head], ["trickle": " ", "every": 0.2, "for": 6]], readFor: 2)
        for r in [stalled, trickled] {
            #expect(r.status == 408 && r.code == "timeout", "\(r)")
            #expect(r.closed && (r.closedAt ?? 99) < 2.5, "\(r)")
        }
    }
}
