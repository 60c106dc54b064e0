import Foundation
import UnibusTestSupport

/// A minimal plain-TCP NATS server on 127.0.0.1 for protocol edge cases a real server cannot be
/// made to produce: connection number *i* is sent an INFO carrying `nonces[i]`, and gets a PONG
/// only if its CONNECT arrives. It records each connection's CONNECT line (`nil` if it closed first).
final class ScriptedNatsServer: @unchecked Sendable {
    // @unchecked: the listening descriptor is fixed after init; the records are behind a lock.
    let port: Int
    private let listener: Int32
    private let nonces: [String]
    private let recorded = Locked<[String?]>([])

    init(nonces: [String]) throws {
        self.nonces = nonces
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw FixtureError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else { close(listener); throw FixtureError("cannot listen on 127.0.0.1: errno \(errno)") }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    // The serving thread holds `self`, so this runs only after it ended: no fd reuse race.
    deinit { close(listener) }

    var url: String { "nats://127.0.0.1:\(port)" }

    /// The CONNECT line of each connection so far, in order; `nil` where the client hung up first.
    var connects: [String?] { recorded.value }

    /// Stops accepting (wakes a blocked `accept`); the serving thread then ends.
    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func serve() {
        for nonce in nonces {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            recorded.withLock { $0.append(handle(client, nonce: nonce)) }
            close(client)
        }
    }

    /// Sends INFO, waits for `CONNECT …` and `PING`, answers PONG, then reads until the client closes.
    private func handle(_ client: Int32, nonce: String) -> String? {
        send(
            client,
            "INFO {\"server_id\":\"SCRIPTED\",\"server_name\":\"scripted\",\"version\":\"2.9.10\","
                + "\"host\":\"127.0.0.1\",\"port\":\(port),\"headers\":true,\"auth_required\":true,\"max_payload\":1048576,"
                + "\"proto\":1,\"client_id\":1,\"client_ip\":\"127.0.0.1\",\"nonce\":\"\(nonce)\"}\r\n")
        var pending = ""
        var connect: String?
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return connect }
            pending += String(decoding: buffer[0..<count], as: UTF8.self)
            while let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                if line.hasPrefix("CONNECT ") { connect = line }
                if line == "PING" { send(client, "PONG\r\n") }
            }
        }
    }

    private func send(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
