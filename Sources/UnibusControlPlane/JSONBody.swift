import Foundation
import Hummingbird
import NIOCore

/// A request body as a JSON object, checked strictly: no unknown fields, required fields present,
/// each with its type. Messages name the field.
struct JSONBody {
    let fields: [String: Any]

    init(_ buffer: ByteBuffer, allowed: Set<String>) throws {
        guard buffer.readableBytes > 0 else { throw APIError.invalid("a JSON object body is required") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw APIError.invalid("the body is not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw APIError.invalid(
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        fields = object
    }

    func string(_ name: String) throws -> String {
        guard let value = fields[name] else { throw APIError.invalid("field \(name) is required") }
        guard let s = value as? String else { throw APIError.invalid("field \(name) must be a string") }
        return s
    }

    func integer(_ name: String) throws -> Int64 {
        guard let value = fields[name] else { throw APIError.invalid("field \(name) is required") }
        // JSONSerialization gives NSNumber for numbers and booleans alike; objCType "c" is a boolean.
        guard let n = value as? NSNumber, String(cString: n.objCType) != "c",
            n.doubleValue == n.doubleValue.rounded(), let i = Int64(exactly: n.doubleValue)
        else { throw APIError.invalid("field \(name) must be an integer") }
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
