import ArgumentParser
import Foundation
import UnibusCore
import UnibusStoreKV
import UnibusStoreSQLite

/// `membershipd migrate-to-kv --db PATH [KV] [--kv-replicas N]`: copies every record from SQLite
/// into the KV. Safe to re-run: a record already in the KV is left as it is (never overwritten,
/// never duplicated), and the counts say what was copied and what was kept.
struct MigrateToKV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to-kv", abstract: "Copy the SQLite allowlist into the live JetStream KV (safe to re-run).")

    @Option(help: "The SQLite allowlist to copy.") var db: String
    @OptionGroup var kv: KVOptions
    /// Deprecated spelling of `--kv-replicas` (contract 1.0); warns, hidden from help, removed in
    /// the release after next.
    @Option(name: .customLong("replicas"), help: .hidden) var replicas: Int?

    static let replicasDeprecation = "warning: --replicas is deprecated; use --kv-replicas"

    func validate() throws {
        if let replicas, let kvReplicas = kv.kvReplicas, replicas != kvReplicas {
            throw ValidationError("--replicas \(replicas) and --kv-replicas \(kvReplicas) disagree: give --kv-replicas only")
        }
    }

    func run() async throws {
        var kvOptions = try kv.resolved()
        if let replicas {
            FileHandle.standardError.write(Data("\(Self.replicasDeprecation)\n".utf8))
            kvOptions.kvReplicas = replicas
        }
        _ = try kvOptions.connectOptions(name: "membershipd-migrate")  // refuse bad flags before touching anything
        let source = try SQLiteAllowlistStore(path: db, create: false)
        // A bulk copy makes the node reload its ACL over and over while it runs: allow each
        // operation more time than an interactive command does.
        let target = try await kvOptions.open(name: "membershipd-migrate", wait: .seconds(15))
        let copy = try await AllowlistCopy.run(from: source, to: target, progress: Self.progress, onRetry: Self.retrying)
        print(copy.report)
        print(await ReplicationReport.line(target, .users))
        print(try await ChangeConfirmation.of(target, sqlitePath: nil).waitForNodes())
    }

    /// One line on stderr each time a step is asked again (the node dropped a request while reloading).
    static func retrying(_ why: String) {
        FileHandle.standardError.write(Data("migrating: \(why)\n".utf8))
    }

    /// One line on stderr every 1,000 records and at the end of each kind.
    static func progress(_ what: String, _ done: Int, _ total: Int) {
        guard done % 1000 == 0 || done == total else { return }
        FileHandle.standardError.write(Data("migrating \(what): \(done)/\(total)\n".utf8))
    }
}
