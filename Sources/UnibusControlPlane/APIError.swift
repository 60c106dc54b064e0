import Foundation
public import Hummingbird
public import UnibusCore

/// An API error as the contract shapes it: `{"error":"<code>","message":"<operator-readable>"}`.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder().encode(["error": code, "message": message])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func invalid(_ message: String) -> Self { Self(.badRequest, "invalid", message) }
    static func forbidden(_ message: String) -> Self { Self(.forbidden, "forbidden", message) }
    static func notFound(_ message: String) -> Self { Self(.notFound, "not-found", message) }
    static func unavailable(_ message: String) -> Self { Self(.serviceUnavailable, "unavailable", message) }
    static func misdirected(_ message: String) -> Self { Self(.misdirectedRequest, "misdirected", message) }

    /// Maps store and validation failures; anything unknown is a 503 (fail closed, never a 2xx).
    static func from(_ error: any Error) -> Self {
        switch error {
        case let e as APIError: return e
        case let e as ValidationError: return .invalid(e.description)
        case let e as StoreError:
            switch e {
            case .alreadyRegistered, .handleTaken, .roomExists, .conflict: return Self(.conflict, "conflict", e.description)
            case .userNotFound, .roomNotFound, .memberNotFound: return .notFound(e.description)
            case .notAMember, .userRevoked, .lastOwner: return Self(.conflict, "conflict", e.description)
            case .unavailable, .partiallyApplied, .corruptRecord, .cannotOpen: return .unavailable(e.description)
            }
        default: return .unavailable("\(error)")
        }
    }
}
