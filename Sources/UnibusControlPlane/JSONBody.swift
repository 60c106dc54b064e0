import Foundation
import Hummingbird
import NIOCore

/// A request body as a JSON object, checked strictly (see ``StrictJSON``): valid UTF-8 without
/// a byte order mark, no duplicate keys, integers only (within ±2^53, no `-0`), nothing after
/// the object; then no unknown fields, required fields present, each with its type. Messages
/// name the field or the problem.
struct JSONBody {
    let fields: [String: StrictJSON]

    init(_ buffer: ByteBuffer, allowed: Set<String>) throws {
        guard buffer.readableBytes > 0 else { throw APIError.invalid("a JSON object body is required") }
        let value: StrictJSON
        do {
            value = try StrictJSON.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIError.invalid("the body is not strict JSON: \(error)")
        }
        guard case .object(let members) = value else { throw APIError.invalid("the body must be a JSON object, not \(value.kind)") }
        let unknown = Set(members.map(\.name)).subtracting(allowed)
        guard unknown.isEmpty else {
            throw APIError.invalid(
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        fields = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0.value) })
    }

    func string(_ name: String) throws -> String {
        guard let value = fields[name] else { throw APIError.invalid("field \(name) is required") }
        guard case .string(let s) = value else { throw APIError.invalid("field \(name) must be a string, not \(value.kind)") }
        return s
    }

    func integer(_ name: String) throws -> Int64 {
        guard let value = fields[name] else { throw APIError.invalid("field \(name) is required") }
        guard case .integer(let i) = value else { throw APIError.invalid("field \(name) must be an integer, not \(value.kind)") }
        return i
    }
}

/// JSON responses.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }
}
