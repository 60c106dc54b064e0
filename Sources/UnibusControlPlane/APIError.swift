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
    /// - Parameter allow: the `Allow` header of a 405.
    func contractResponse(allow: String? = nil) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // `error` before `message`, every time
        let body = try encoder.encode(ErrorBody(error: code, message: message))
        var headers: HTTPFields = [.contentType: "application/json"]
        if let allow { headers[.allow] = allow }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
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
    /// The methods the path answers, for a 405's `Allow` header.
    public let allow: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, allow: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.allow = allow
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response { try contractResponse(allow: allow) }

    static func invalid(_ message: String) -> Self { Self(.badRequest, "invalid", message) }
    static func forbidden(_ message: String) -> Self { Self(.forbidden, "forbidden", message) }
    static func notFound(_ message: String) -> Self { Self(.notFound, "not-found", message) }
    static func methodNotAllowed(_ method: String, path: String, allowed: [String]) -> Self {
        let allow = allowed.joined(separator: ", ")
        return Self(.methodNotAllowed, "invalid", "\(path) does not answer \(method); it answers \(allow)", allow: allow)
    }
    static func unavailable(_ message: String) -> Self { Self(.serviceUnavailable, "unavailable", message) }
    static func misdirected(_ message: String) -> Self { Self(.misdirectedRequest, "misdirected", message) }

    /// What a client is told of a failure of unknown type: a 503 (fail closed, never a 2xx)
    /// without the failure's text, which the node logs instead.
    static let internalFailure = unavailable("the request could not be completed; the node's log has the details")
}
