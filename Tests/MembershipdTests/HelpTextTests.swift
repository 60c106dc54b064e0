import Foundation
import Testing
import UnibusTestSupport

/// `membershipd <command> --help`: every flag says what it is for.
@Suite("help text for every flag")
struct HelpTextTests {
    static let commands: [[String]] = [
        ["serve"], ["user", "add"], ["user", "list"], ["user", "revoke"], ["user", "import"], ["export"], ["migrate-to-kv"],
        ["cluster", "status"], ["certs", "cluster"], ["certs", "client"], ["certs", "dev"], ["clientcheck"], ["api"],
    ]

    /// The flags of the OPTIONS section whose help is empty or only a default or a list of values.
    /// ArgumentParser prints a flag, then its help from a fixed column (the column of `-h, --help`'s
    /// help), on the same line or, for a long flag, on the next lines.
    static func flagsWithoutHelp(_ help: String) -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("OPTIONS:") }) else { return [] }
        let section = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix(" ") }
        guard let helpLine = section.first(where: { $0.hasPrefix("  -h, --help") }),
            let column = helpLine.range(of: "Show help")?.lowerBound.utf16Offset(in: helpLine)
        else { return ["(no -h, --help line)"] }
        var entries: [(flag: String, text: String)] = []
        for line in section {
            let head = String(line.prefix(column)), tail = String(line.dropFirst(column))
            if line.hasPrefix("  -") {
                // a flag longer than the column has its help on the next lines
                let overruns = line.count > column && !head.hasSuffix(" ")
                entries.append(overruns ? (line.trimmingCharacters(in: .whitespaces), "") : (head.trimmingCharacters(in: .whitespaces), tail))
            } else if head.trimmingCharacters(in: .whitespaces).isEmpty, !entries.isEmpty {
                entries[entries.count - 1].text += " " + tail
            }
        }
        return entries.filter { entry in
            let text = entry.text.replacingOccurrences(of: #"\((default|values): [^)]*\)"#, with: "", options: .regularExpression)
            return text.trimmingCharacters(in: .whitespaces).isEmpty
        }.map(\.flag)
    }

    @Test("every flag of every subcommand has help", arguments: commands)
    func everyFlagHasHelp(_ command: [String]) async throws {
        let r = try await CLI.run(command + ["--help"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("OPTIONS:"), "\(r.stdout)")
        #expect(Self.flagsWithoutHelp(r.stdout) == [], "\(r.stdout)")
    }

    @Test func theParserFindsAFlagWithoutHelp() {
        let help = """
            OPTIONS:
              --db <db>               SQLite file.
              --nats-port <nats-port> (default: 4250)
              --http-port <http-port> Control plane port. (default:
                                      8470)
              --very-long-flag-name <very-long-flag-name>
                                      (values: a, b; default: a)
              --cluster-port <cluster-port>
                                      Route port. (default: 6250)
              -h, --help              Show help information.

            """
        #expect(Self.flagsWithoutHelp(help) == ["--nats-port <nats-port>", "--very-long-flag-name <very-long-flag-name>"])
    }

    @Test("serve --help names the environment variables and what they do")
    func serveHelpNamesEnvironment() async throws {
        let r = try await CLI.run(["serve", "--help"])
        for text in ["UNIBUS_NATS_MONITOR=1", "UNIBUS_NATS_DEBUG=1", "127.0.0.1:8222", "LOG_LEVEL", "values: enforce, off", "values: sqlite, kv"] {
            #expect(r.stdout.contains(text), "\(text): \(r.stdout)")
        }
    }

    @Test("api --help lists the endpoints it can call")
    func apiHelpListsEndpoints() async throws {
        let r = try await CLI.run(["api", "--help"])
        for endpoint in [
            "GET    /healthz", "GET    /v1/me", "POST   /v1/users ", "/v1/users/<sign-pub>/revoke", "POST   /v1/rooms ",
            "GET    /v1/rooms/<id>/members", "DELETE /v1/rooms/<id>/members/<sign-pub>", "PUT    /v1/rooms/<id>/keys/<sign-pub>",
            "GET    /v1/rooms/<id>/keys/me",
        ] {
            #expect(r.stdout.contains(endpoint), "\(endpoint): \(r.stdout)")
        }
    }

    @Test("migrate-to-kv shows one spelling, --kv-replicas; the deprecated --replicas is hidden")
    func migrateHelpShowsOneReplicasFlag() async throws {
        let r = try await CLI.run(["migrate-to-kv", "--help"])
        #expect(r.stdout.contains("--kv-replicas") && !r.stdout.contains("--replicas"), "\(r.stdout)")
    }
}
