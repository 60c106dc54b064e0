import ArgumentParser
import Foundation
import UnibusCore

/// `membershipd`: the unibus membership and room-ACL service, and its operator CLI.
@main
struct Membershipd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "membershipd",
        abstract: "Membership and room ACLs for a secure NATS bus.",
        version: AppInfo.version,
        subcommands: [
            Serve.self, UserCommand.self, MigrateToKV.self, ExportCommand.self, ClusterCommand.self, APICommand.self, CertsCommand.self,
            ClientCheckCommand.self,
        ],
        defaultSubcommand: Serve.self
    )

    /// Exit codes are the contract's, not ArgumentParser's: 0 done, 1 refused or failed, 2 usage.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            if code == .validationFailure {
                // A value a flag cannot take ("The value 'x' is invalid for '--store <store>'") is a
                // bad value (1); an unknown flag or a missing argument is usage (2).
                let text = firstLine(message(for: error))
                fail("\(text) (see --help)", code: text.hasPrefix("The value '") ? 1 : 2)
            }
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            fail(String(describing: error), code: 1)
        }
    }

    static func firstLine(_ text: String) -> String {
        text.split(separator: "\n").first.map(String.init)?.replacingOccurrences(of: "Error: ", with: "") ?? text
    }

    /// One line on stderr, `error: …`, then exit.
    static func fail(_ text: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
        Foundation.exit(code)
    }
}
