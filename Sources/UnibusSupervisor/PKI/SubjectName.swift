import Foundation
import SwiftASN1
import X509

/// A name a server certificate covers: a DNS name or an IP address (subjectAltName).
public struct SubjectName: Sendable, Hashable, CustomStringConvertible {
    public let isIP: Bool
    /// Lowercased DNS name, or the address as written (IPv4 dotted, IPv6 colon form).
    public let value: String

    /// Parses a host as nodes.env or --san gives it (a trailing dot is dropped).
    /// - Throws: `PKIError.invalidName` for anything that is neither.
    public init(_ host: String) throws(PKIError) {
        var text = host.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix(".") { text.removeLast() }
        if Self.ipBytes(text) != nil {
            isIP = true
            value = text.lowercased()
        } else if Self.isDNSName(text) {
            isIP = false
            value = text.lowercased()
        } else {
            throw .invalidName(host)
        }
    }

    public var description: String { (isIP ? "IP:" : "DNS:") + value }

    var generalName: GeneralName {
        if let bytes = Self.ipBytes(value) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
        return .dnsName(value)
    }

    /// The names a certificate's subjectAltName holds (others, like e-mail, are ignored).
    static func names(in certificate: Certificate) -> Set<SubjectName> {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return Set(
            sans.compactMap { name -> SubjectName? in
                switch name {
                case .dnsName(let dns): return try? SubjectName(dns)
                case .ipAddress(let octets): return Self.text(ofIP: Array(octets.bytes)).flatMap { try? SubjectName($0) }
                default: return nil
                }
            })
    }

    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if text.contains("."), !text.contains(":"), inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if text.contains(":"), inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func text(ofIP bytes: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : -1
        guard family != -1, bytes.withUnsafeBytes({ inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }) != nil else {
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isDNSName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
                && label.first != "-" && label.last != "-"
        }
    }
}
