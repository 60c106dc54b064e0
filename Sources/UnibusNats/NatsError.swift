internal import CNats

/// A failed nats.c call: what was attempted, nats.c's status code, and nats.c's own error text.
///
/// `detail` is read with `nats_GetLastError` right after the failing call, on the thread that
/// made it (nats.c keeps that text per thread). It never contains payloads, seeds or keys.
///
/// ```swift
/// do { _ = try await connection.request("svc.echo", payload: [], timeout: .seconds(1)) }
/// catch let error where error.isNoResponders { print("nobody serves svc.echo") }
/// ```
public struct NatsError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What was attempted, e.g. `connect to nats://127.0.0.1:4222`.
    public let operation: String
    /// The raw `natsStatus` value (`NATS_TIMEOUT` is 26, `NATS_NOT_PERMITTED` 12, …).
    public let status: UInt32
    /// nats.c's error text for this failure, or the generic text of `status` when it had none.
    public let detail: String

    /// Creates an error from its parts; `detail` should already be free of secrets.
    public init(operation: String, status: UInt32, detail: String) {
        self.operation = operation
        self.status = status
        self.detail = detail
    }

    /// `<operation>: <detail> (natsStatus <n>)`.
    public var description: String { "\(operation): \(detail) (natsStatus \(status))" }

    /// nats.c's generic text for ``status``, e.g. `Timeout`.
    public var statusText: String { String(cString: natsStatus_GetText(natsStatus(rawValue: status))) }

    /// The server refused a publish or subscribe (`NATS_NOT_PERMITTED`).
    public var isNotPermitted: Bool { status == NATS_NOT_PERMITTED.rawValue }
    /// The server refused the credentials (`NATS_CONNECTION_AUTH_FAILED`, "Authorization Violation").
    public var isAuthFailed: Bool { status == NATS_CONNECTION_AUTH_FAILED.rawValue }
    /// The call gave up waiting (`NATS_TIMEOUT`).
    public var isTimeout: Bool { status == NATS_TIMEOUT.rawValue }
    /// A request found no subscriber on its subject (`NATS_NO_RESPONDERS`).
    public var isNoResponders: Bool { status == NATS_NO_RESPONDERS.rawValue }
    /// What a JetStream API request gets for a few milliseconds while nats-server 2.9.10
    /// applies an authorization reload: no responders, or "JetStream not enabled for account".
    public var isTransientDuringReload: Bool { isNoResponders || detail.contains("JetStream not enabled for account") }
    /// The key, stream or bucket does not exist (`NATS_NOT_FOUND`).
    public var isNotFound: Bool { status == NATS_NOT_FOUND.rawValue }
    /// The connection is closed (`NATS_CONNECTION_CLOSED`).
    public var isConnectionClosed: Bool { status == NATS_CONNECTION_CLOSED.rawValue }
    /// A KV create/update lost a race: nats.c reports it as the generic `NATS_ERR` and only the
    /// text says `wrong last sequence: N`.
    public var isWrongLastSequence: Bool {
        status == NATS_ERR.rawValue && detail.lowercased().contains("wrong last sequence")
    }
}

extension NatsError {
    /// An error for `status`, with the calling thread's `nats_GetLastError` text when that text
    /// belongs to this same status (nats.c does not clear it on success, so it may be stale).
    init(status: natsStatus, operation: String) {
        self.init(operation: operation, status: status.rawValue, detail: Self.lastErrorText(for: status))
    }

    /// Throws unless `status` is `NATS_OK`. Call it on the line right after the C call, on the
    /// same thread, with no `await` in between.
    static func check(_ status: natsStatus, _ operation: @autoclosure () -> String) throws(NatsError) {
        guard status != NATS_OK else { return }
        throw NatsError(status: status, operation: operation())
    }

    /// The calling thread's last nats.c error text if it is about `status`, else the generic text.
    static func lastErrorText(for status: natsStatus) -> String {
        var lastStatus = NATS_OK
        if let text = nats_GetLastError(&lastStatus), lastStatus == status {
            let detail = withoutSourceLocation(String(cString: text))
            if !detail.isEmpty { return detail }
        }
        return String(cString: natsStatus_GetText(status))
    }

    /// nats.c prefixes its text with where it was raised, e.g. `(conn.c:1905): Authorization
    /// Violation`; operators need only the part after it.
    static func withoutSourceLocation(_ text: String) -> String {
        guard text.hasPrefix("("), let end = text.firstIndex(of: ")") else { return text }
        let location = text[text.index(after: text.startIndex)..<end]
        guard let colon = location.lastIndex(of: ":"), location[..<colon].hasSuffix(".c"),
            !location[location.index(after: colon)...].isEmpty,
            location[location.index(after: colon)...].allSatisfy(\.isNumber)
        else { return text }
        let rest = text[text.index(after: end)...]
        return rest.hasPrefix(": ") ? String(rest.dropFirst(2)) : String(rest)
    }

    /// An argument error raised by this module before any C call.
    static func invalidArgument(_ operation: String, _ detail: String) -> NatsError {
        NatsError(operation: operation, status: NATS_INVALID_ARG.rawValue, detail: detail)
    }
}
