import Foundation
import Testing
import UnibusTestSupport

/// `clientcheck` spells its flags as the other commands do (`--nats-url`, `--client-cert`,
/// `--client-key`); the 1.x spellings still work for one release, with a warning.
@Suite("clientcheck: one spelling per option")
struct ClientCheckSpellingTests {
    static let common = ["clientcheck", "--api", "https://127.0.0.1:1", "--handle", "alice", "--ca", "/nonexistent/ca.crt"]

    @Test func theOldSpellingsStillWorkAndWarn() async throws {
        let r = try await CLI.run(
            Self.common + ["--url", "nats://127.0.0.1:1", "--cert", "a.crt", "--key", "a.key", "--key-file", "/nonexistent/alice.seed"])
        // Parsed and run (it fails later, on the missing seed file), with one warning per old spelling.
        #expect(r.status == 1, "\(r.stderr)")
        for (old, new) in [("--url", "--nats-url"), ("--cert", "--client-cert"), ("--key", "--client-key")] {
            #expect(r.stderr.contains("warning: clientcheck \(old) is deprecated; use \(new)"), "\(r.stderr)")
        }
        #expect(r.stderr.contains("/nonexistent/alice.seed"), "\(r.stderr)")
    }

    @Test func theNewSpellingsDoNotWarn() async throws {
        let r = try await CLI.run(
            Self.common + [
                "--nats-url", "nats://127.0.0.1:1", "--client-cert", "a.crt", "--client-key", "a.key", "--key-file", "/nonexistent/alice.seed",
            ])
        #expect(r.status == 1)
        #expect(!r.stderr.contains("deprecated"), "\(r.stderr)")
    }

    @Test func bothSpellingsWithDifferentValuesAreAUsageError() async throws {
        let r = try await CLI.run(
            Self.common + [
                "--nats-url", "nats://127.0.0.1:1", "--client-cert", "a.crt", "--cert", "b.crt", "--client-key", "a.key", "--key-file", "k",
            ])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--client-cert and its old spelling disagree"), "\(r.stderr)")
    }

    @Test func anOutOfRangeValueNamesItsFlagAndRange() async throws {
        let r = try await CLI.run(
            Self.common + ["--nats-url", "nats://127.0.0.1:1", "--client-cert", "a.crt", "--client-key", "a.key", "--key-file", "k", "--rate", "0"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--rate 0 is out of range: give 1...100000"), "\(r.stderr)")
    }

    @Test func helpShowsOnlyTheNewSpellings() async throws {
        let help = try await CLI.run(["clientcheck", "--help"]).stdout
        #expect(help.contains("--nats-url") && help.contains("--client-cert") && help.contains("--client-key"))
        for old in ["--url ", "--cert ", "--key "] { #expect(!help.contains(old), "\(old) in help") }
    }
}
