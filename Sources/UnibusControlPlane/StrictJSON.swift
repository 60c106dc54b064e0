/// A JSON value as the control plane accepts it: RFC 8259 with every ambiguity refused.
///
/// ``parse(_:)`` refuses what `JSONSerialization` silently accepts or cannot tell apart:
/// - a byte order mark, invalid UTF-8, anything after the value but whitespace;
/// - duplicate keys in an object (compared after unescaping: `"id"` and `"\u0069d"` are one key);
/// - numbers that are not integers: a fraction or an exponent (`1.0`, `1e3`), and `-0`;
/// - integers beyond ±2^53 (`9007199254740993`), which a double cannot hold exactly;
/// - leading zeros, unescaped control characters, lone UTF-16 surrogates in `\u` escapes;
/// - nesting deeper than ``maxDepth``.
///
/// ```swift
/// let value = try StrictJSON.parse(Array(#"{"id":"general"}"#.utf8))
/// // .object([.init(name: "id", value: .string("general"))])
/// ```
enum StrictJSON: Equatable, Sendable {
    /// An object: its members in the order written, each name once.
    case object([Member])
    case array([StrictJSON])
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null

    struct Member: Equatable, Sendable {
        let name: String
        let value: StrictJSON
    }

    /// Deepest nesting of arrays and objects accepted (the top-level object is depth 1).
    static let maxDepth = 32
    /// Largest integer magnitude accepted: 2^53, the last one every JSON reader holds exactly.
    static let maxMagnitude: UInt64 = 1 << 53

    /// What kind of value this is, for messages: "an object", "a string", …
    var kind: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Parses one JSON text.
    /// - Throws: ``StrictJSONError`` naming the problem and its byte offset.
    static func parse(_ bytes: [UInt8]) throws(StrictJSONError) -> StrictJSON {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw StrictJSONError("a byte order mark is not allowed", at: 0) }
        if let bad = firstInvalidUTF8(bytes) { throw StrictJSONError("invalid UTF-8", at: bad) }
        var parser = StrictJSONParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.position < bytes.count else { throw StrictJSONError("no JSON value", at: parser.position) }
        let value = try parser.value(depth: 1)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw StrictJSONError("unexpected data after the JSON value", at: parser.position) }
        return value
    }

    /// The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no
    /// overlongs, no surrogates, nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // range of the second byte
            switch b {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= bytes.count else { return i }
            guard (low...high).contains(bytes[i + 1]) else { return i }
            for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return i }
            i += length
        }
        return nil
    }
}

/// Why a body is not strict JSON, and where.
struct StrictJSONError: Error, Equatable, CustomStringConvertible {
    let problem: String
    let offset: Int

    init(_ problem: String, at offset: Int) {
        self.problem = problem
        self.offset = offset
    }

    var description: String { "\(problem) (at byte \(offset))" }
}

/// A recursive-descent parser over well-formed UTF-8 bytes.
private struct StrictJSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let b = current, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { position += 1 }
    }

    func fail(_ problem: String, at offset: Int? = nil) -> StrictJSONError { StrictJSONError(problem, at: offset ?? position) }

    /// Describes the byte at the position for a message.
    var found: String {
        guard let b = current else { return "the end of the body" }
        return (0x21...0x7E).contains(b) ? "'\(String(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    mutating func value(depth: Int) throws(StrictJSONError) -> StrictJSON {
        guard let b = current else { throw fail("expected a JSON value, found \(found)") }
        switch b {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try integer())
        default: throw fail("expected a JSON value, found \(found)")
        }
    }

    mutating func literal(_ word: String) throws(StrictJSONError) {
        let w = Array(word.utf8)
        guard bytes.count - position >= w.count, Array(bytes[position..<position + w.count]) == w else {
            throw fail("expected a JSON value, found \(found)")
        }
        position += w.count
    }

    mutating func enter(_ depth: Int) throws(StrictJSONError) {
        guard depth <= StrictJSON.maxDepth else { throw fail("nested deeper than \(StrictJSON.maxDepth) levels") }
        position += 1
        skipWhitespace()
    }

    mutating func object(depth: Int) throws(StrictJSONError) -> StrictJSON {
        try enter(depth)
        var members: [StrictJSON.Member] = []
        var names: Set<String> = []
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw fail("expected a quoted member name, found \(found)") }
            let start = position
            let name = try string()
            guard names.insert(name).inserted else { throw fail("duplicate key \"\(name)\"", at: start) }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after \"\(name)\", found \(found)") }
            position += 1
            skipWhitespace()
            members.append(.init(name: name, value: try value(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default: throw fail("expected ',' or '}' in an object, found \(found)")
            }
        }
    }

    mutating func array(depth: Int) throws(StrictJSONError) -> StrictJSON {
        try enter(depth)
        var elements: [StrictJSON] = []
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw fail("expected ',' or ']' in an array, found \(found)")
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*)`, refusing a fraction, an exponent, `-0` and magnitudes beyond 2^53.
    mutating func integer() throws(StrictJSONError) -> Int64 {
        let start = position
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw fail("expected a digit after '-', found \(found)")
        }
        var magnitude: UInt64 = 0
        var tooLarge = false
        while let d = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) {
            if position > start + (negative ? 1 : 0), first == UInt8(ascii: "0") {
                throw fail("numbers must not have leading zeros", at: start)
            }
            if !tooLarge {
                magnitude = magnitude * 10 + UInt64(d - UInt8(ascii: "0"))
                tooLarge = magnitude > StrictJSON.maxMagnitude
            }
            position += 1
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if let c = current, c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            throw fail("numbers must be integers, without a fraction or an exponent (\(text)\(String(UnicodeScalar(c)))…)", at: start)
        }
        if tooLarge { throw fail("integer \(text) is beyond ±2^53", at: start) }
        if negative && magnitude == 0 { throw fail("-0 is not an integer: write 0", at: start) }
        return negative ? -Int64(magnitude) : Int64(magnitude)
    }

    /// A quoted string with its escapes resolved.
    mutating func string() throws(StrictJSONError) -> String {
        let start = position
        position += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var run = position  // start of the current run of plain bytes
        func flush(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard let b = current else { throw fail("unterminated string", at: start) }
            switch b {
            case UInt8(ascii: "\""):
                flush(position)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush(position)
                scalars.append(try escape())
                run = position
            case 0x00..<0x20:
                throw fail("unescaped control character 0x\(String(b, radix: 16, uppercase: true)) in a string")
            default:
                position += 1
            }
        }
    }

    /// One escape sequence, at its backslash; a `\u` high surrogate must be followed by a low one.
    mutating func escape() throws(StrictJSONError) -> Unicode.Scalar {
        let start = position
        position += 1
        guard let e = current else { throw fail("unterminated string", at: start) }
        position += 1
        switch e {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            switch unit {
            case 0xD800...0xDBFF:
                guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("lone UTF-16 surrogate in a \\u escape", at: start)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone UTF-16 surrogate in a \\u escape", at: start) }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            case 0xDC00...0xDFFF: throw fail("lone UTF-16 surrogate in a \\u escape", at: start)
            default: return Unicode.Scalar(unit)!
            }
        default: throw fail("invalid escape '\\\(String(UnicodeScalar(e)))' in a string", at: start)
        }
    }

    mutating func hex4() throws(StrictJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let b = current, let digit = Self.hexValue(b) else { throw fail("expected 4 hex digits in a \\u escape, found \(found)") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
