import ArgumentParser
import Foundation
import UnibusCore
import UnibusStoreKV
import UnibusStoreSQLite

/// `membershipd migrate-to-kv --db PATH [KV] [--replicas N]`: copies every record from SQLite
/// into the KV. Safe to re-run: a record already in the KV is left as it is (never overwritten,
/// never duplicated), and the counts say what was copied and what was kept.
struct MigrateToKV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to-kv", abstract: "Copy the SQLite allowlist into the live JetStream KV (safe to re-run).")

    @Option(help: "The SQLite allowlist to copy.") var db: String
    @OptionGroup var kv: KVOptions
    @Option(help: "Replicas the buckets must have (same as --kv-replicas; checked, never changed).") var replicas: Int?

    func run() async throws {
        var kvOptions = try kv.resolved()
        if let replicas { kvOptions.kvReplicas = replicas }
        _ = try kvOptions.connectOptions(name: "membershipd-migrate")  // refuse bad flags before touching anything
        let source = try SQLiteAllowlistStore(path: db, create: false)
        // A bulk copy makes the node reload its ACL over and over while it runs: allow each
        // operation more time than an interactive command does.
        let target = try await kvOptions.open(name: "membershipd-migrate", wait: .seconds(15))
        let copy = try await AllowlistCopy.run(from: source, to: target, progress: Self.progress)
        print(copy.report)
        print(await ReplicationReport.line(target, .users))
        print(try await ChangeConfirmation.of(target, sqlitePath: nil).waitForNodes())
    }

    /// One line on stderr every 1,000 records and at the end of each kind.
    static func progress(_ what: String, _ done: Int, _ total: Int) {
        guard done % 1000 == 0 || done == total else { return }
        FileHandle.standardError.write(Data("migrating \(what): \(done)/\(total)\n".utf8))
    }
}

/// `membershipd cluster status [KV]`: each bucket's replicas, leader and followers, and the
/// ACL generation each running node has in force.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Cluster status.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buckets' replicas, leaders and whether followers are current; each node's ACL generation.")
        @OptionGroup var kv: KVOptions

        func run() async throws {
            let store = try await kv.resolved().open(name: "membershipd-status")
            var lines: [String] = []
            for bucket in KVAllowlistStore.Bucket.allCases { lines.append(await ReplicationReport.line(store, bucket)) }
            lines.append(contentsOf: await Self.nodeLines(store))
            print(lines.joined(separator: "\n"))
        }

        /// One line per running node: the ACL generation it runs and whether it has every change.
        static func nodeLines(_ store: KVAllowlistStore) async -> [String] {
            guard let board = await KVAclStatusBoard.bind(store) else {
                return ["nodes: none reports its ACL (bucket \(KVAclStatusBoard.bucket) absent)"]
            }
            do {
                let head = try await KVAclSource(store: store).head()
                return try await board.runningNodes().map { node in
                    let current = node.position.covers(head) ? "current" : "behind (at \(node.position), store at \(head))"
                    return
                        "node \(node.node): ACL generation \(node.generation), \(current), applied \(ISO8601DateFormatter().string(from: node.appliedAt))"
                }
            } catch {
                return ["nodes: ACL status unavailable (\(error))"]
            }
        }
    }
}
