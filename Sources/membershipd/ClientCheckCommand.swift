import ArgumentParser
import Foundation
import Synchronization
import UnibusCore
import UnibusNats

/// `membershipd clientcheck`: a real client, as a member, through whatever the cluster does.
///
/// It makes sure its room exists (a signed `POST /v1/rooms`, retried while the cluster answers
/// 503), then runs two connections with every seed URL (nkey + client certificate, reconnecting):
/// a receiver subscribed to `unibus.room.<room>.clientcheck` that acknowledges each message to the
/// sender's inbox, and a sender that sends `--count` numbered messages, each as a request, and
/// sends it again until it is acknowledged (or `--timeout` passes). The receiver delivers each
/// number once and counts the copies retries brought. It reports sent, acknowledged, delivered,
/// lost (never delivered), duplicates suppressed and retries; exit 0 only when nothing was lost.
struct ClientCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientcheck", abstract: "Send and receive a numbered stream as a member; report loss and duplicates.")

    @Option(name: .customLong("nats-url"), help: "A node's NATS URL (repeatable: every seed the client may fail over to).")
    var natsURLs: [String] = []
    @Option(name: .customLong("api"), help: "A node's control plane, to create the room (https://HOST:8470).") var api: String
    @Option(name: .customLong("key-file"), help: "The member's ed25519 seed (nkey SU… or 64 hex), mode 0600.") var keyFile: String
    @Option(help: "The member's handle (its inbox is _INBOX.<handle>).") var handle: String
    @Option(name: .customLong("client-cert"), help: "Its client certificate.") var clientCert: String?
    @Option(name: .customLong("client-key"), help: "Its key, mode 0600.") var clientKey: String?
    /// Spellings of 1.x before the KV commands' names were used here too; warn, hidden, removed
    /// in the release after next.
    @Option(name: .customLong("url"), help: .hidden) var oldURLs: [String] = []
    @Option(name: .customLong("cert"), help: .hidden) var oldCert: String?
    @Option(name: .customLong("key"), help: .hidden) var oldKey: String?
    @Option(help: "The client CA (signs the nodes' server certificates).") var ca: String
    @Option(help: "The room to use (created if absent; the member must own or belong to it).") var room = "clientcheck"
    @Option(help: "Messages to send.") var count = 1000
    @Option(help: "Messages per second.") var rate = 200
    @Option(help: "Seconds the whole check may take.") var timeout = 120
    @Flag(help: "Print the result as one JSON object.") var json = false

    /// Every NATS URL given, in either spelling.
    var urls: [String] { natsURLs + oldURLs }
    var cert: String { clientCert ?? oldCert ?? "" }
    var key: String { clientKey ?? oldKey ?? "" }

    func validate() throws {
        guard !urls.isEmpty else { throw ValidationError("give at least one --nats-url") }
        for (name, new, old) in [("--client-cert", clientCert, oldCert), ("--client-key", clientKey, oldKey)] {
            guard new != nil || old != nil else { throw ValidationError("give \(name)") }
            if let new, let old, new != old { throw ValidationError("\(name) and its old spelling disagree: give \(name) only") }
        }
        for (name, value, range) in [("--count", count, 1...1_000_000), ("--rate", rate, 1...100_000), ("--timeout", timeout, 1...3600)] {
            guard range.contains(value) else { throw BadValue("\(name) \(value) is out of range: give \(range.lowerBound)...\(range.upperBound)") }
        }
    }

    /// One warning per old spelling used.
    func warnDeprecatedSpellings() {
        for (old, new, used) in [
            ("--url", "--nats-url", !oldURLs.isEmpty), ("--cert", "--client-cert", oldCert != nil), ("--key", "--client-key", oldKey != nil),
        ]
        where used {
            FileHandle.standardError.write(Data("warning: clientcheck \(old) is deprecated; use \(new)\n".utf8))
        }
    }

    func run() async throws {
        warnDeprecatedSpellings()
        let pair = try SigningKeyFile.load(keyFile)
        let roomID = try RoomID(room)
        let userHandle = try Handle(handle)
        let deadline = ContinuousClock.now + .seconds(timeout)
        try await ensureRoom(roomID, key: pair, deadline: deadline)
        var options = NatsConnectOptions(
            servers: urls.map { $0.replacingOccurrences(of: "nats://", with: "tls://") }, name: "membershipd-clientcheck", timeout: .seconds(2))
        options.tls = NatsTLSFiles(caFile: ca, certFile: cert, keyFile: key)
        options.nkey = NatsNKeyCredentials(publicKey: pair.nkey, seed: try NatsNKeySeed(pair.seed))
        options.customInboxPrefix = Subjects.inboxPrefix(userHandle)
        options.allowReconnect = true
        options.maxReconnect = 1000
        options.reconnectWait = .milliseconds(200)
        let subject = "unibus.room.\(roomID.value).clientcheck"
        let receiver = try await NatsConnection.connect(options)
        let sender = try await NatsConnection.connect(options)
        let tally = Tally()
        let subscription = try await receiver.subscribe(subject)
        try await receiver.flush()
        let receiving = Task {
            for await message in subscription.messages {
                guard let number = message.string.flatMap(Int.init) else { continue }
                tally.received(number)
                if let reply = message.reply { try? await receiver.publish(reply, payload: Array("ack \(number)".utf8)) }
            }
        }
        let started = ContinuousClock.now
        var acknowledged = 0
        var retries = 0
        for number in 1...count {
            let due = started + .seconds(Double(number - 1) / Double(rate))
            if due > .now { try await Task.sleep(until: due) }
            while ContinuousClock.now < deadline {
                do {
                    _ = try await sender.request(subject, payload: Array("\(number)".utf8), timeout: .seconds(1))
                    acknowledged += 1
                    break
                } catch {
                    retries += 1
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        try? await Task.sleep(for: .milliseconds(500))  // copies still on their way
        receiving.cancel()
        await sender.close()
        await receiver.close()
        let result = tally.result(sent: count, acknowledged: acknowledged, retries: retries, seconds: elapsed)
        print(json ? try result.json() : result.line)
        if result.lost > 0 || result.acknowledged < count { throw ClientCheckError.lost(result.line) }
    }

    /// Creates the room (the member becomes its owner) or finds it; 503 (no quorum) is retried.
    func ensureRoom(_ room: RoomID, key pair: UserKeyPair, deadline: ContinuousClock.Instant) async throws {
        let client = try SignedAPIClient(url: api, ca: ca, key: pair)
        do {
            while true {
                do {
                    _ = try await client.send("POST", "/v1/rooms", body: Data("{\"id\":\"\(room.value)\"}".utf8))
                    break
                } catch let failure as APIFailure where failure.status == 409 {
                    break  // it exists; sending fails below if the member may not use it
                } catch let failure as APIFailure where failure.status == 503 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}

/// What the receiver saw: each number once, and how many copies retries brought.
final class Tally: Sendable {
    private let state = Mutex<(delivered: Set<Int>, duplicates: Int)>(([], 0))

    func received(_ number: Int) {
        state.withLock { state in
            if !state.delivered.insert(number).inserted { state.duplicates += 1 }
        }
    }

    func result(sent: Int, acknowledged: Int, retries: Int, seconds: Duration) -> ClientCheckResult {
        state.withLock { state in
            ClientCheckResult(
                sent: sent, acknowledged: acknowledged, delivered: state.delivered.count,
                lost: (1...sent).count { !state.delivered.contains($0) }, duplicatesSuppressed: state.duplicates, retries: retries,
                seconds: Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18)
        }
    }
}

struct ClientCheckResult: Encodable {
    var sent: Int
    var acknowledged: Int
    var delivered: Int
    var lost: Int
    var duplicatesSuppressed: Int
    var retries: Int
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case sent, acknowledged, delivered, lost, retries, seconds
        case duplicatesSuppressed = "duplicates_suppressed"
    }

    var line: String {
        "sent \(sent), acknowledged \(acknowledged), delivered \(delivered) (each once), lost \(lost), "
            + "duplicates suppressed \(duplicatesSuppressed), retries \(retries), in \(String(format: "%.1f", seconds)) s "
            + "(\(String(format: "%.0f", Double(delivered) / max(seconds, 0.001))) msg/s)"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

enum ClientCheckError: Error, CustomStringConvertible {
    case lost(String)
    var description: String {
        switch self {
        case .lost(let line): "messages were lost or never acknowledged: \(line)"
        }
    }
}
