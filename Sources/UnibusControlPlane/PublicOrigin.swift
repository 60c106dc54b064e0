import Foundation

/// One origin the node answers for (`--public-url`): always https, a host and a port. The
/// signature base's `@target-uri` is built from the matched origin, never from the client's
/// `Host` header as sent.
///
/// ```swift
/// let origin = try PublicOrigin(parsing: "https://Node.Example:443/")
/// origin.authority  // "node.example" (443 is implied)
/// origin.matches(host: "NODE.example:443")  // true
/// ```
public struct PublicOrigin: Sendable, Hashable, CustomStringConvertible {
    /// Lowercase host; an IPv6 address keeps its brackets.
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        let lower = host.lowercased()
        self.host = lower.contains(":") && !lower.hasPrefix("[") ? "[\(lower)]" : lower
        self.port = port
    }

    /// Parses `https://HOST[:PORT]` (a trailing `/` is allowed): no user, path, query or fragment.
    public init(parsing text: String) throws(PublicOriginError) {
        let refuse = PublicOriginError(url: text)
        guard let scheme = text.range(of: "://"), text[..<scheme.lowerBound].lowercased() == "https" else {
            throw refuse.because("the scheme must be https")
        }
        var rest = text[scheme.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains(where: { "/?#@ \\".contains($0) }) else { throw refuse.because("it must not have a path, query, fragment or user") }
        guard let (host, port) = Self.split(authority: String(rest)) else { throw refuse.because("the host or port is not valid") }
        self.init(host: host, port: port ?? 443)
    }

    /// `host:port`, without `:443` (the default port of https).
    public var authority: String { port == 443 ? host : "\(host):\(port)" }

    public var description: String { "https://\(authority)" }

    /// Whether a request's `Host` (or absolute-form authority) names this origin: case-insensitive,
    /// no port meaning 443.
    public func matches(host header: String) -> Bool {
        guard let (host, port) = Self.split(authority: header) else { return false }
        return Self(host: host, port: port ?? 443) == self
    }

    /// Splits `host[:port]` / `[v6][:port]`; nil when the host is empty, has characters a host
    /// cannot have, or the port is not 1...65535.
    static func split(authority text: String) -> (String, Int?)? {
        var host = Substring(text), portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[...close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_[]:")
        guard !host.isEmpty, host.allSatisfy(allowed.contains), host.hasPrefix("[") || !host.contains(":") else { return nil }
        guard let portText else { return (String(host), nil) }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}

/// A `--public-url` that is not an https origin.
public struct PublicOriginError: Error, CustomStringConvertible {
    public let url: String
    public var reason = ""

    func because(_ reason: String) -> Self { Self(url: url, reason: reason) }

    public var description: String {
        "--public-url '\(url)' is not an origin (\(reason)): give https://HOST[:PORT], e.g. https://node1.example.org:8470"
    }
}
