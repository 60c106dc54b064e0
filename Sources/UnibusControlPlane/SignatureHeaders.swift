import Foundation
import RawStructuredFieldValues
import UnibusCore

/// Parses `Signature-Input` and `Signature` (RFC 9421 §4) with swift-http-structured-headers.
enum SignatureHeaders {
    /// The one signature of a request: exactly one label, the same in both headers.
    static func parse(input: String?, signature: String?) throws(SignatureError) -> (input: SignatureInput, signature: Data) {
        guard let input, let signature else {
            if input == nil && signature == nil { throw .unsigned }
            throw .malformed("Signature-Input and Signature must both be present")
        }
        let inputs = try dictionary(input, "Signature-Input")
        let signatures = try dictionary(signature, "Signature")
        guard inputs.count == 1, signatures.count == 1 else {
            throw .malformed("exactly one signature label is accepted (got \(inputs.count) in Signature-Input, \(signatures.count) in Signature)")
        }
        let (label, member) = inputs[inputs.startIndex]
        guard let sigMember = signatures[label] else { throw .malformed("Signature has no label \"\(label)\"") }
        guard case .innerList(let list) = member else { throw .malformed("Signature-Input \"\(label)\" is not an inner list") }
        var components: [String] = []
        for item in list.bareInnerList {
            guard case .string(let name) = item.rfc9651BareItem else { throw .malformed("covered components must be strings") }
            guard item.rfc9651Parameters.count == 0 else { throw .unsupportedComponent("\(name) with parameters") }
            components.append(name)
        }
        var parameters: [(name: String, value: SignatureInput.Value)] = []
        for (name, value) in list.rfc9651Parameters {
            switch value {
            case .integer(let i): parameters.append((name, .integer(i)))
            case .string(let s): parameters.append((name, .string(s)))
            default: throw .malformed("parameter \(name) must be an integer or a string")
            }
        }
        guard case .item(let sigItem) = sigMember, case .undecodedByteSequence(let b64) = sigItem.rfc9651BareItem,
            let bytes = Data(base64Encoded: b64)
        else { throw .malformed("Signature \"\(label)\" must be a byte sequence :…:") }
        return (SignatureInput(components: components, parameters: parameters), bytes)
    }

    /// The sha-256 member of Content-Digest, if any.
    static func contentDigest(_ header: String?) throws(SignatureError) -> Data? {
        guard let header else { return nil }
        let members = try dictionary(header, "Content-Digest")
        guard let member = members["sha-256"] else { throw .malformed("Content-Digest has no sha-256 member") }
        guard case .item(let item) = member, case .undecodedByteSequence(let b64) = item.rfc9651BareItem,
            let bytes = Data(base64Encoded: b64)
        else { throw .malformed("Content-Digest sha-256 must be a byte sequence") }
        return bytes
    }

    private static func dictionary(_ text: String, _ name: String) throws(SignatureError) -> OrderedMap<String, ItemOrInnerList> {
        guard text.utf8.count <= 8192 else { throw .malformed("\(name) is too long") }
        let keys = topLevelKeys(text)
        guard Set(keys).count == keys.count else { throw .malformed("\(name) repeats a label") }
        do {
            var parser = StructuredFieldValueParser(Array(text.utf8))
            return try parser.parseDictionaryFieldValue()
        } catch {
            throw .malformed("\(name) is not a structured dictionary (RFC 8941)")
        }
    }

    /// Member keys of a dictionary in order, duplicates included (the parser keeps only the last).
    static func topLevelKeys(_ text: String) -> [String] {
        var keys: [String] = []
        var depth = 0, quoted = false, escaped = false, current = "", atKey = true
        for c in text {
            if quoted {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
                continue
            }
            switch c {
            case "\"": quoted = true
            case "(": depth += 1
            case ")": depth -= 1
            case "," where depth == 0:
                atKey = true
                current = ""
                continue
            case "=",
                ";" where atKey:
                if atKey { keys.append(current.trimmingCharacters(in: .whitespaces)); atKey = false }
            default: break
            }
            if atKey { current.append(c) }
        }
        if atKey, !current.trimmingCharacters(in: .whitespaces).isEmpty { keys.append(current.trimmingCharacters(in: .whitespaces)) }
        return keys
    }
}
