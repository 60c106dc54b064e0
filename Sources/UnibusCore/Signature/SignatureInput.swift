import Foundation

/// One signature's metadata from `Signature-Input` (RFC 9421 §4.1): the covered components, in
/// order, and the parameters. Parsing the header is the HTTP layer's job; this is the parsed form.
public struct SignatureInput: Equatable, Sendable {
    /// A parameter value: RFC 9421 uses integers and strings.
    public enum Value: Equatable, Sendable {
        case integer(Int64), string(String)
    }

    /// Component identifiers such as `@method`, `@target-uri`, `content-digest` (lowercase).
    public var components: [String]
    /// Parameters in the order they were given (the order is part of the signed base).
    public var parameters: [(name: String, value: Value)]

    public init(components: [String], parameters: [(name: String, value: Value)]) {
        self.components = components
        self.parameters = parameters
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.components == b.components && a.parameters.elementsEqual(b.parameters) { $0.name == $1.name && $0.value == $1.value }
    }

    public func integer(_ name: String) -> Int64? {
        for p in parameters where p.name == name { if case .integer(let v) = p.value { return v } }
        return nil
    }

    public func string(_ name: String) -> String? {
        for p in parameters where p.name == name { if case .string(let v) = p.value { return v } }
        return nil
    }

    /// The `@signature-params` value: the inner list serialized as RFC 8941 does it.
    public var serialized: String {
        "(" + components.map { "\"\($0)\"" }.joined(separator: " ") + ")"
            + parameters.map { p in
                switch p.value {
                case .integer(let v): ";\(p.name)=\(v)"
                case .string(let s): ";\(p.name)=\"\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
                }
            }.joined()
    }
}
