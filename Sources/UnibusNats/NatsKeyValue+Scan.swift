internal import CNats
import Foundation

extension NatsKeyValue {
    /// The current values whose keys match `pattern` (a KV key with `*` / `>` wildcards, e.g.
    /// `general.*`), sorted by key. Delete markers are left out.
    ///
    /// Walks the stream with `$JS.API.STREAM.MSG.GET {"seq":n,"next_by_subj":…}`, which only
    /// the stream leader answers, so the result is never a lagging replica's. One request per
    /// stored message under the pattern (history is 1, so about one per key): meant for small
    /// slices such as one room's members; use ``entries()`` for a whole bucket. nats.c 3.4.1
    /// has no call for `next_by_subj`, so the request is made directly.
    public func entries(matching pattern: String) async throws(NatsKVError) -> [NatsKVEntry] {
        let plain = pattern.replacingOccurrences(of: "*", with: "x").replacingOccurrences(of: ">", with: "x")
        guard NatsKVEntry.isValidKey(plain) else { throw .invalidKey(bucket: bucket, key: pattern) }
        let filter = subject(pattern)
        let prefix = subject("")
        let connection = jetStream.connection
        let timeout = max(1, jetStream.wait.natsMilliseconds)
        let result = await NatsJetStream.runKV { [bucket] () throws(NatsError) -> [NatsKVEntry] in
            let api = "$JS.API.STREAM.MSG.GET.KV_\(bucket)"
            var values: [String: NatsKVEntry] = [:]
            var next: UInt64 = 0
            while let message = try Self.nextMessage(connection, api: api, seq: next, filter: filter, timeout: timeout) {
                let key = String(message.subject.dropFirst(prefix.count))
                let operation = NatsKVEntry.operation(header: Self.kvOperation(in: message.hdrs))
                values[key] =
                    operation == .put
                    ? NatsKVEntry(
                        key: key, value: message.data ?? Data(), revision: message.seq,
                        created: MsgGetResponse.date(message.time) ?? Date(timeIntervalSince1970: 0))
                    : nil
                next = message.seq + 1
            }
            return values.values.sorted { $0.key < $1.key }
        }
        switch result {
        case .success(let entries): return entries
        case .failure(let error): throw NatsKVError.classify(error, bucket: bucket)
        }
    }

    /// The next stored message at or after `seq` on `filter`, or nil when there is none.
    private static func nextMessage(
        _ connection: NatsConnection, api: String, seq: UInt64, filter: String, timeout: Int64
    ) throws(NatsError) -> MsgGetResponse.Message? {
        let operation = "read \(filter) from its stream leader"
        let request = Array(#"{"seq":\#(seq),"next_by_subj":"\#(filter)"}"#.utf8)
        var reply: OpaquePointer?
        let status = request.withUnsafeBytes { bytes in
            natsConnection_Request(&reply, connection.handle.pointer, api, bytes.baseAddress, Int32(bytes.count), timeout)
        }
        try NatsError.check(status, operation)
        defer { natsMsg_Destroy(reply) }
        let length = Int(natsMsg_GetDataLength(reply))
        let body = natsMsg_GetData(reply).map { Data(bytes: $0, count: length) } ?? Data()
        guard let response = try? JSONDecoder().decode(MsgGetResponse.self, from: body) else {
            throw NatsError(operation: operation, status: NATS_ERR.rawValue, detail: "unreadable reply from JetStream")
        }
        if let error = response.error {
            if error.err_code == 10037 { return nil }  // JSNoMessageFoundErr: past the last match
            throw NatsError(
                operation: operation, status: NATS_ERR.rawValue,
                detail: "\(error.description ?? "JetStream error") (code \(error.code), err_code \(error.err_code ?? 0))")
        }
        guard let message = response.message else {
            throw NatsError(operation: operation, status: NATS_ERR.rawValue, detail: "reply without a message")
        }
        return message
    }

    /// The `KV-Operation` header value in a raw `NATS/1.0` header block.
    static func kvOperation(in headers: Data?) -> String? {
        guard let headers, let text = String(data: headers, encoding: .utf8) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "kv-operation" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

/// `$JS.API.STREAM.MSG.GET`'s reply (nats-server's `JSApiMsgGetResponse`).
struct MsgGetResponse: Decodable {
    struct Message: Decodable {
        let subject: String
        let seq: UInt64
        let hdrs: Data?
        let data: Data?
        let time: String?
    }

    struct APIError: Decodable {
        let code: Int
        let err_code: Int?
        let description: String?
    }

    let message: Message?
    let error: APIError?

    /// Go's RFC 3339 time with up to nine fractional digits.
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            fraction = Double("0" + text[dot..<end]) ?? 0
            whole = String(text[..<dot] + text[end...])
        }
        return ISO8601DateFormatter().date(from: whole).map { $0 + fraction }
    }
}
