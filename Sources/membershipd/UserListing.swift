import Foundation
import UnibusCore

/// How `user list` prints users.
enum UserListing {
    static func table(_ users: [User]) -> String {
        let header = ["HANDLE", "ROLE", "STATUS", "SIGN-PUB", "NKEY"]
        let rows = users.map { [$0.handle.value, $0.role.rawValue, $0.status.rawValue, $0.signPub.hex, $0.nkey] }
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
        return String(decoding: try encoder.encode(users.map(UserPresentation.init)), as: UTF8.self) + "\n"
    }
}
