/// The parts of an HTTP request a signature can cover.
public struct SignedRequest: Sendable {
    public var method: String
    public var scheme: String
    /// Host and port as the client addressed it (the `Host` header), lowercase.
    public var authority: String
    /// Path, without the query.
    public var path: String
    /// The query without `?`, or nil when the target has none.
    public var query: String?
    /// Header fields (names compared case-insensitively), in order.
    public var headers: [(name: String, value: String)]

    public init(method: String, scheme: String, authority: String, path: String, query: String?, headers: [(name: String, value: String)]) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// `@target-uri`: scheme://authority/path?query.
    public var targetURI: String { "\(scheme)://\(authority)\(path)" + (query.map { "?\($0)" } ?? "") }
}

/// Builds the RFC 9421 signature base (§2.5): one line per covered component, then
/// `"@signature-params"`. Pure; the verifier and the signing client both use it.
public enum SignatureBase {
    /// - Throws: `SignatureError.unsupportedComponent` / `.missingComponent`.
    public static func build(_ request: SignedRequest, _ input: SignatureInput) throws(SignatureError) -> String {
        var lines: [String] = []
        var seen = Set<String>()
        for component in input.components {
            guard seen.insert(component).inserted else { throw .duplicateComponent(component) }
            lines.append("\"\(component)\": \(try value(of: component, in: request))")
        }
        lines.append("\"@signature-params\": \(input.serialized)")
        return lines.joined(separator: "\n")
    }

    static func value(of component: String, in r: SignedRequest) throws(SignatureError) -> String {
        switch component {
        case "@method": return r.method.uppercased()
        case "@target-uri": return r.targetURI
        case "@authority": return r.authority.lowercased()
        case "@scheme": return r.scheme.lowercased()
        case "@path": return r.path
        case "@query": return "?" + (r.query ?? "")
        case "@request-target": return r.path + (r.query.map { "?\($0)" } ?? "")
        default:
            guard !component.hasPrefix("@"), component == component.lowercased(), !component.isEmpty else {
                throw .unsupportedComponent(component)
            }
            let values = r.headers.filter { $0.name.lowercased() == component }
                .map { $0.value.trimmingCharacters(in: [" ", "\t"]) }
            guard !values.isEmpty else { throw .missingComponent(component) }
            return values.joined(separator: ", ")
        }
    }
}

extension String {
    /// Trims the given characters from both ends (OWS in RFC 9110 terms: space and tab).

    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
