import Foundation
import Testing
import UnibusTestSupport

/// A value a flag cannot take is a bad value (exit 1, naming the flag and what it takes); a
/// missing argument or an unknown flag is usage (exit 2). Nothing is written either way.
@Suite("bad values exit 1, usage errors exit 2")
struct BadValueTests {
    @Test(
        "an out-of-range number names its flag and range",
        arguments: [
            (["certs", "dev", "--days", "0"], "--days 0 is out of range: give 1...3650"),
            (["certs", "dev", "--ca-days", "99999"], "--ca-days 99999 is out of range: give 1...36500"),
            (["certs", "client", "--name", "alice", "--days", "4000"], "--days 4000 is out of range: give 1...3650"),
            (["certs", "client", "--name", "a b"], "--name may hold only letters"),
            (["cluster", "status", "--wait", "--timeout", "0"], "--timeout 0 is out of range: give 1...3600 seconds"),
        ])
    func outOfRange(_ arguments: [String], _ message: String) async throws {
        let dir = TempDirectory("unibus-test-bad-value")
        let r = try await CLI.run(arguments + ["--out", dir.file("out")].suffix(arguments.first == "certs" ? 2 : 0), cwd: dir.url)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    @Test func aMissingArgumentIsUsage() async throws {
        let r = try await CLI.run(["certs", "client"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("--name"), "\(r.stderr)")
    }
}
