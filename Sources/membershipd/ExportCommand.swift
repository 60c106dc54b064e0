import ArgumentParser
import Foundation
import UnibusCore
import UnibusStoreSQLite

/// `membershipd export --db NEW.db [KV]`: copies the live KV allowlist into a new SQLite file.
/// A backup, and the first step of upgrading a cluster whose buckets predate accounts
/// (cluster/README.md): `migrate-to-kv` copies the file back into the upgraded cluster.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Copy the live JetStream KV allowlist into a new SQLite file.")

    @Option(help: "The SQLite file to create (refused if it exists).") var db: String
    @OptionGroup var kv: KVOptions

    func run() async throws {
        let kv = try kv.resolved()
        _ = try kv.connectOptions(name: "membershipd-export")  // refuse bad flags before touching anything
        guard !FileManager.default.fileExists(atPath: db) else {
            throw ServeError.invalid("\(db) already exists: export writes a new file; choose another path")
        }
        let source = try await kv.open(name: "membershipd-export", wait: .seconds(15))
        let target = try SQLiteAllowlistStore(path: db, create: true)
        do {
            let copy = try await AllowlistCopy.run(from: source, to: target, progress: MigrateToKV.progress, onRetry: MigrateToKV.retrying)
            print(copy.report)
            print("wrote \(db)")
        } catch {
            for file in [db, db + "-wal", db + "-shm"] { try? FileManager.default.removeItem(atPath: file) }  // nothing is left behind
            throw error
        }
    }
}
