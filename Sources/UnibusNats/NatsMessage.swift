internal import CNats
public import Foundation

/// A message received from NATS, copied out of nats.c (the `natsMsg` is destroyed at once).
public struct NatsMessage: Sendable, Hashable {
    /// The subject it was published to.
    public let subject: String
    /// The reply subject (a request's inbox), if any.
    public let reply: String?
    /// The payload bytes.
    public let payload: Data
    /// NATS headers (`NATS/1.0` block), each key with its values in order; empty if none.
    public let headers: [String: [String]]

    /// Creates a message, e.g. for tests of code that consumes ``NatsMessage``.
    public init(subject: String, reply: String? = nil, payload: Data, headers: [String: [String]] = [:]) {
        self.subject = subject
        self.reply = reply
        self.payload = payload
        self.headers = headers
    }

    /// The payload as bytes.
    public var bytes: [UInt8] { [UInt8](payload) }

    /// The payload decoded as UTF-8, or `nil` if it is not valid UTF-8.
    public var string: String? { String(data: payload, encoding: .utf8) }
}

extension NatsMessage {
    /// Copies `msg`; the caller still owns it and must `natsMsg_Destroy` it.
    init(copying msg: OpaquePointer) {
        let length = Int(natsMsg_GetDataLength(msg))
        let data: Data
        if length > 0, let bytes = natsMsg_GetData(msg) {
            data = Data(bytes: bytes, count: length)
        } else {
            data = Data()
        }
        self.init(
            subject: natsMsg_GetSubject(msg).map { String(cString: $0) } ?? "",
            reply: natsMsg_GetReply(msg).map { String(cString: $0) },
            payload: data,
            headers: Self.copyHeaders(msg))
    }

    private static func copyHeaders(_ msg: OpaquePointer) -> [String: [String]] {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        // NATS_NOT_FOUND: no headers. The arrays are ours to free; the strings belong to msg.
        guard natsMsgHeader_Keys(msg, &keys, &keyCount) == NATS_OK, let keys else { return [:] }
        defer { free(keys) }
        var headers: [String: [String]] = [:]
        for index in 0..<Int(keyCount) {
            guard let key = keys[index] else { continue }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(msg, key, &values, &valueCount) == NATS_OK, let values else { continue }
            defer { free(values) }
            headers[String(cString: key)] = (0..<Int(valueCount)).compactMap { values[$0].map { String(cString: $0) } }
        }
        return headers
    }
}
