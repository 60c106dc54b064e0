import Foundation
public import Hummingbird

/// An error whose answer is the contract's JSON error body (section 4); ``ErrorMapper`` sends it
/// as it is. Errors of other types are a 503 that says nothing of their internals.
protocol ContractError: HTTPResponseError {
    /// The contract's error code (`invalid`, `not-found`, `conflict`, …).
    var code: String { get }
    /// The operator-readable message sent to the client.
    var message: String { get }
}

extension ContractError {
    /// `{"error":"<code>","message":"<operator-readable>"}`, `application/json`: each
    /// conformance's `response(from:context:)`.
    func contractResponse() throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // `error` before `message`, every time
        let body = try encoder.encode(ErrorBody(error: code, message: message))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The error body: `error` then `message` (keys sorted; slashes escaped, as ever).
struct ErrorBody: Encodable {
    let error: String
    let message: String
}

/// An API error the control plane itself raises (authentication, authorisation, body shape,
/// origin). Store and validation errors answer for themselves (Errors+HTTP.swift).
public struct APIError: ContractError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response { try contractResponse() }

    static func invalid(_ message: String) -> Self { Self(.badRequest, "invalid", message) }
    static func forbidden(_ message: String) -> Self { Self(.forbidden, "forbidden", message) }
    static func notFound(_ message: String) -> Self { Self(.notFound, "not-found", message) }
    static func unavailable(_ message: String) -> Self { Self(.serviceUnavailable, "unavailable", message) }
    static func misdirected(_ message: String) -> Self { Self(.misdirectedRequest, "misdirected", message) }

    /// What a client is told of a failure of unknown type: a 503 (fail closed, never a 2xx)
    /// without the failure's text, which the node logs instead.
    static let internalFailure = unavailable("the request could not be completed; the node's log has the details")
}
