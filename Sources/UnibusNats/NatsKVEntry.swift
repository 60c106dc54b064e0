internal import CNats
public import Foundation

/// One value of a KV bucket, copied out of nats.c.
public struct NatsKVEntry: Sendable, Hashable {
    /// What the entry records.
    public enum Operation: Sendable, Hashable {
        case put, delete, purge
    }

    public var key: String
    public var value: Data
    /// The stream sequence of this value: what a revision-checked update expects.
    public var revision: UInt64
    /// When the server stored it.
    public var created: Date
    public var operation: Operation

    public init(key: String, value: Data, revision: UInt64, created: Date, operation: Operation = .put) {
        self.key = key
        self.value = value
        self.revision = revision
        self.created = created
        self.operation = operation
    }
}

extension NatsKVEntry {
    /// Copies `entry` (the caller still owns it and destroys it).
    init(copying entry: OpaquePointer) {
        let length = Int(kvEntry_ValueLen(entry))
        let value: Data =
            if length > 0, let bytes = kvEntry_Value(entry) { Data(bytes: bytes, count: length) } else { Data() }
        let operation: Operation =
            switch kvEntry_Operation(entry) {
            case kvOp_Delete: .delete
            case kvOp_Purge: .purge
            default: .put
            }
        self.init(
            key: kvEntry_Key(entry).map { String(cString: $0) } ?? "",
            value: value,
            revision: kvEntry_Revision(entry),
            created: Date(timeIntervalSince1970: Double(kvEntry_Created(entry)) / 1e9),
            operation: operation)
    }

    /// The operation a `KV-Operation` header value names (`DEL`, `PURGE`; absent = put).
    static func operation(header value: String?) -> Operation {
        switch value?.trimmingCharacters(in: .whitespaces) {
        case "DEL": .delete
        case "PURGE": .purge
        default: .put
        }
    }

    /// Whether `key` is a key nats.c accepts: letters, digits, `-_/\=`, and dots that are not
    /// first, last or doubled (the same rule as nats.c's `validKey`).
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty, bytes.first != 0x2e, bytes.last != 0x2e else { return false }
        var previous: UInt8 = 0
        for byte in bytes {
            let ok =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || [0x2d, 0x5f, 0x2f, 0x5c, 0x3d].contains(byte) || (byte == 0x2e && previous != 0x2e)
            guard ok else { return false }
            previous = byte
        }
        return true
    }
}
