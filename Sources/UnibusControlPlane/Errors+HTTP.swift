public import Hummingbird
import Logging
public import UnibusCore

// How the core's typed errors answer over HTTP (contract section 4). UnibusCore stays free of
// HTTP; each error type says its own status and code here, and `ErrorMapper` sends any
// `ContractError` as it is. A 5xx never carries a failure's internals (files, SQLite or
// nats.c text): those go to the node's log.

extension ValidationError: HTTPResponseError, ContractError {
    public var status: HTTPResponse.Status { .badRequest }
    var code: String { "invalid" }
    var message: String { description }

    public func response(from request: Request, context: some RequestContext) throws -> Response { try contractResponse() }
}

extension StoreError: HTTPResponseError, ContractError {
    public var status: HTTPResponse.Status {
        switch self {
        case .alreadyRegistered, .handleTaken, .roomExists, .conflict, .notAMember, .userRevoked, .lastOwner: .conflict
        case .userNotFound, .roomNotFound, .memberNotFound: .notFound
        case .unavailable, .outcomeUnknown, .partiallyApplied, .corruptRecord, .cannotOpen, .storageFailure: .serviceUnavailable
        }
    }

    var code: String {
        switch status {
        case .conflict: "conflict"
        case .notFound: "not-found"
        default: "unavailable"
        }
    }

    /// The operator-readable text, except for failures of the storage itself: a client is told
    /// that the node cannot serve, the node's log says why.
    var message: String {
        switch self {
        case .partiallyApplied, .corruptRecord, .cannotOpen, .storageFailure:
            "the allowlist store on this node cannot serve this request (a storage failure); the node's log has the details"
        default: description
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        if message != description {
            context.logger.error("\(request.method) \(request.uri.path): \(description)")
        }
        return try contractResponse()
    }
}

/// What a client may be told of a store failure inside another answer: a `StoreError`'s
/// ``StoreError/message``, else nothing of the failure's text. What is withheld is logged.
func clientText(_ error: any Error, logger: Logger) -> String {
    let text = (error as? StoreError)?.message ?? "an internal failure"
    if text != "\(error)" { logger.error("store failure: \(error)") }
    return text
}
