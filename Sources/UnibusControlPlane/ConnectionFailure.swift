import Foundation
import NIOCore
import NIOHTTP1

/// An error the connection guard answers itself, below the router, with the contract's JSON body;
/// the connection is closed after it.
struct ConnectionFailure: Error {
    let status: HTTPResponseStatus
    let code: String
    let message: String
    var allow: String?

    /// NIO's HTTP/1 parser refused the bytes: malformed request line or chunk, bad method, oversized head.
    static func parser(_ error: HTTPParserError, limits: ConnectionLimits) -> Self {
        switch error {
        case .headerOverflow:
            Self(
                status: .requestHeaderFieldsTooLarge, code: "too-large",
                message: "the request head is too large: at most \(limits.maxHead) bytes, \(limits.maxHeaderField) per field, "
                    + "\(limits.maxHeaderCount) fields")
        case .invalidMethod:
            Self(status: .badRequest, code: "invalid", message: "the request method is not a valid HTTP method (methods are upper case, e.g. GET)")
        case .invalidChunkSize, .invalidContentLength, .unexpectedContentLength, .closedConnection:
            Self(status: .badRequest, code: "invalid", message: "the request body is malformed (\(error)); the connection is closed")
        default:
            Self(status: .badRequest, code: "invalid", message: "the request is not valid HTTP/1.1 (\(error)); the connection is closed")
        }
    }

    static func headTooLarge(_ limits: ConnectionLimits) -> Self { parser(.headerOverflow, limits: limits) }

    static func timeout(_ what: String, _ amount: TimeAmount) -> Self {
        Self(
            status: .requestTimeout, code: "timeout",
            message: "the request \(what) was not complete within \(Double(amount.nanoseconds) / 1e9) s; the connection is closed")
    }

    static func invalid(_ message: String, status: HTTPResponseStatus = .badRequest) -> Self {
        Self(status: status, code: "invalid", message: message)
    }

    /// The answer as HTTP/1 parts; no body for a HEAD request.
    func parts(version: HTTPVersion, head isHead: Bool) -> [HTTPServerResponsePart] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // `error` before `message`, as every error body
        let body = (try? encoder.encode(["error": code, "message": message])) ?? Data()
        var headers = HTTPHeaders([
            ("content-type", "application/json"), ("content-length", "\(body.count)"), ("connection", "close"),
        ])
        if let allow { headers.add(name: "allow", value: allow) }
        let head = HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))
        return isHead ? [head, .end(nil)] : [head, .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)]
    }
}
