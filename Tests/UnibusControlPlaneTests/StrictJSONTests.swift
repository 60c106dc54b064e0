import Foundation
import NIOCore
import Testing

@testable import UnibusControlPlane

@Suite("strict JSON bodies")
struct StrictJSONTests {
    struct Bad: CustomTestStringConvertible, Sendable {
        let name: String
        let body: [UInt8]
        /// A part of the message that names the problem.
        let names: String
        init(_ name: String, _ body: String, _ names: String) { self.init(name, Array(body.utf8), names) }
        init(_ name: String, _ body: [UInt8], _ names: String) {
            self.name = name
            self.body = body
            self.names = names
        }
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        .init("duplicate key", #"{"id":"a","id":"b"}"#, #"duplicate key "id""#),
        .init("duplicate key spelled with an escape", #"{"id":"a","\u0069d":"b"}"#, #"duplicate key "id""#),
        .init("unknown field", #"{"id":"a","owner":"x"}"#, "unknown field(s) owner"),
        .init("a fraction", #"{"epoch":1.0,"wrapped":"AA=="}"#, "must be integers"),
        .init("an exponent", #"{"epoch":1e3,"wrapped":"AA=="}"#, "must be integers"),
        .init("a capital exponent", #"{"epoch":1E3,"wrapped":"AA=="}"#, "must be integers"),
        .init("minus zero", #"{"epoch":-0,"wrapped":"AA=="}"#, "-0"),
        .init("beyond 2^53", #"{"epoch":9007199254740993,"wrapped":"AA=="}"#, "beyond ±2^53"),
        .init("beyond -2^53", #"{"epoch":-9007199254740993,"wrapped":"AA=="}"#, "beyond ±2^53"),
        .init("beyond Int64", #"{"epoch":123456789012345678901234567890,"wrapped":"AA=="}"#, "beyond ±2^53"),
        .init("leading zero", #"{"epoch":01,"wrapped":"AA=="}"#, "leading zeros"),
        .init("a lone minus", #"{"epoch":-,"wrapped":"AA=="}"#, "expected a digit"),
        .init("a plus sign", #"{"epoch":+1,"wrapped":"AA=="}"#, "expected a JSON value"),
        .init("a top-level array", #"[{"id":"a"}]"#, "must be a JSON object, not an array"),
        .init("a top-level string", #""general""#, "must be a JSON object, not a string"),
        .init("a top-level null", "null", "must be a JSON object, not null"),
        .init("trailing garbage", #"{"id":"a"}x"#, "unexpected data after the JSON value"),
        .init("two objects", #"{"id":"a"}{"id":"b"}"#, "unexpected data after the JSON value"),
        .init("a trailing comma", #"{"id":"a",}"#, "expected a quoted member name"),
        .init("a single-quoted string", #"{'id':'a'}"#, "expected a quoted member name"),
        .init("a byte order mark", [0xEF, 0xBB, 0xBF] + Array(#"{"id":"a"}"#.utf8), "byte order mark"),
        .init("invalid UTF-8", Array(#"{"id":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), "invalid UTF-8"),
        .init("an overlong encoding", Array(#"{"id":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), "invalid UTF-8"),
        .init("an encoded surrogate", Array(#"{"id":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8), "invalid UTF-8"),
        .init("a lone surrogate escape", #"{"id":"\ud800"}"#, "lone UTF-16 surrogate"),
        .init("an unescaped control character", "{\"id\":\"a\u{01}b\"}", "unescaped control character"),
        .init("an invalid escape", #"{"id":"\x41"}"#, "invalid escape"),
        .init("an unterminated string", #"{"id":"abc"#, "unterminated string"),
        .init("a truncated object", #"{"id":"a""#, "expected ',' or '}'"),
        .init("a bare word", #"{"id":general}"#, "expected a JSON value"),
        .init("TRUE in capitals", #"{"id":TRUE}"#, "expected a JSON value"),
        .init("a comment", #"{"id":"a"/* hi */}"#, "expected ',' or '}'"),
        .init("nested 33 deep", #"{"id":"# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}", "nested deeper than 32"),
        .init("an empty body", "", "a JSON object body is required"),
        .init("only whitespace", "  \n", "no JSON value"),
        .init("a number where a string is required", #"{"id":7}"#, "field id must be a string, not an integer"),
        .init("null where a string is required", #"{"id":null}"#, "field id must be a string, not null"),
    ]

    static func body(_ bytes: [UInt8], allowed: Set<String>) throws -> JSONBody {
        try JSONBody(ByteBuffer(bytes: bytes), allowed: allowed)
    }

    @Test("bad bodies are 400 invalid naming the problem", arguments: bad)
    func badBodiesAreRefused(_ bad: Bad) throws {
        do {
            let body = try Self.body(bad.body, allowed: ["id", "epoch", "wrapped"])
            // Well-formed bodies whose fields have the wrong type fail at the accessor.
            if body.fields["epoch"] != nil { _ = try body.integer("epoch") } else { _ = try body.string("id") }
            Issue.record("accepted: \(String(decoding: bad.body, as: UTF8.self))")
        } catch let error as APIError {
            #expect(error.description.hasPrefix("400 invalid:"))
            #expect(error.message.contains(bad.names), "\(error.message)")
        }
    }

    @Test func goodBodiesAreRead() throws {
        let room = try Self.body(Array(#" { "id" : "general" } "#.utf8), allowed: ["id"])
        #expect(try room.string("id") == "general")
        let key = try Self.body(Array(#"{"epoch":9007199254740992,"wrapped":"AAECAw=="}"#.utf8), allowed: ["epoch", "wrapped"])
        #expect(try key.integer("epoch") == 1 << 53)
        #expect(try Self.body(Array(#"{"epoch":-9007199254740992}"#.utf8), allowed: ["epoch"]).integer("epoch") == -(1 << 53))
        #expect(try Self.body(Array(#"{"epoch":0}"#.utf8), allowed: ["epoch"]).integer("epoch") == 0)
        let escaped = try Self.body(Array(#"{"id":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00z"}"#.utf8), allowed: ["id"])
        #expect(try escaped.string("id") == "a\"\\/\u{08}\u{0C}\n\r\té😀z")
        #expect(try Self.body(Array(#"{"id":"héllo wörld"}"#.utf8), allowed: ["id"]).string("id") == "héllo wörld")
        #expect(try Self.body(Array("{}".utf8), allowed: ["id"]).fields.isEmpty)
    }

    @Test func valuesKeepTheirOrderAndKinds() throws {
        let value = try StrictJSON.parse(Array(#"{"b":[1,-2,true,false,null,{}],"a":"x"}"#.utf8))
        #expect(
            value
                == .object([
                    .init(name: "b", value: .array([.integer(1), .integer(-2), .bool(true), .bool(false), .null, .object([])])),
                    .init(name: "a", value: .string("x")),
                ]))
        // 32 levels are fine, the 33rd is not
        let deep = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try StrictJSON.parse(Array(deep.utf8)) }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(Array(("[" + deep + "]").utf8)) }
        // the same key in different objects is not a duplicate
        #expect(throws: Never.self) { try StrictJSON.parse(Array(#"{"a":{"a":1},"b":{"a":2}}"#.utf8)) }
    }

    @Test func errorsNameTheByteOffset() {
        #expect(throws: StrictJSONError("duplicate key \"id\"", at: 11)) { try StrictJSON.parse(Array(#"{"id":"a", "id":"b"}"#.utf8)) }
        #expect(throws: StrictJSONError("unexpected data after the JSON value", at: 11)) { try StrictJSON.parse(Array(#"{"id":"a"} ,"#.utf8)) }
    }
}
