import Foundation
import UnibusCore

/// How `user list` prints users. A key that is not a canonical point of large order (stored
/// before keys were checked; it is left out of the ACL) is flagged in KEY / `key_problem`.
enum UserListing {
    static func table(_ users: [User]) -> String {
        let header = ["HANDLE", "ROLE", "STATUS", "KEY", "SIGN-PUB", "NKEY"]
        let rows = users.map {
            [$0.handle.value, $0.role.rawValue, $0.status.rawValue, keyProblem($0.signPub).map { "weak (\($0))" } ?? "ok", $0.signPub.hex, $0.nkey]
        }
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return ([header] + rows).map(line).joined() + "\(users.count) user(s)\n"
    }

    static func json(_ users: [User]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(users.map(Listed.init)), as: UTF8.self) + "\n"
    }

    /// A short reason a stored key is weak, or nil for a sound key.
    static func keyProblem(_ key: SignPub) -> String? {
        switch key.weakness {
        case nil: nil
        case .signPubSmallOrder(_, let order)?: "small-order, order \(order)"
        case .signPubNotOnCurve?: "not a curve point"
        default: "non-canonical encoding"
        }
    }

    /// The API's user presentation plus `key_problem` (only when the key is weak).
    struct Listed: Encodable {
        let user: User
        func encode(to encoder: any Encoder) throws {
            try UserPresentation(user).encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encodeIfPresent(user.signPub.weakness?.description, forKey: .keyProblem)
        }
        enum Key: String, CodingKey { case keyProblem = "key_problem" }
    }
}
