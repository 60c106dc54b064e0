public import Foundation
public import Logging
public import UnibusCore

/// Moves allowlist buckets written before accounts existed into the `UNIBUS` account.
///
/// Versions before accounts kept the `UNIBUS_*` buckets in nats-server's global account `$G`.
/// Once the config has an `accounts` block, `$G` has no JetStream and cannot be configured
/// ("Reserved Account"), so those streams would be unreachable. On a single node the server
/// keeps each account's streams in `<store_dir>/jetstream/<account>/streams/<stream>/` and a
/// stream's files do not name its account, so while the server is stopped each `KV_UNIBUS_*`
/// directory is renamed into `UNIBUS` (one atomic rename per stream; a re-run moves what is
/// left). A cluster's streams are also recorded in its replicated metadata and cannot be moved
/// on disk: the node refuses to start and names the procedure (cluster/README.md).
public enum JetStreamAccountMigration {
    /// - Returns: the streams moved.
    /// - Throws: `MigrationError` when the move is not possible; nothing is changed then.
    @discardableResult
    public static func moveLegacyStreams(storeDirectory: String, clustered: Bool, logger: Logger) throws(MigrationError) -> [String] {
        let root = URL(fileURLWithPath: storeDirectory).appendingPathComponent("jetstream")
        let legacy = root.appendingPathComponent("$G/streams")
        let target = root.appendingPathComponent("\(Accounts.internal)/streams")
        let streams = legacyStreams(storeDirectory: storeDirectory)
        guard !streams.isEmpty else { return [] }
        guard !clustered else { throw .clusterNeedsProcedure(legacy.path) }
        for stream in streams where FileManager.default.fileExists(atPath: target.appendingPathComponent(stream).path) {
            throw .bothLayouts(legacy.appendingPathComponent(stream).path, target.appendingPathComponent(stream).path)
        }
        do {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw .io(target.path, "\(error)")
        }
        for stream in streams {
            let from = legacy.appendingPathComponent(stream).path
            let to = target.appendingPathComponent(stream).path
            guard rename(from, to) == 0 else { throw .io(from, String(cString: strerror(errno))) }
            logger.notice("moved allowlist stream \(stream) from the global account into \(Accounts.internal) (\(to))")
        }
        logger.warning(
            "before accounts, any room member could rewrite allowlist records through reply subjects: check `membershipd user list --store kv` (roles) against your records"
        )
        return streams
    }

    /// The allowlist streams still in the global account.
    public static func legacyStreams(storeDirectory: String) -> [String] {
        let legacy = URL(fileURLWithPath: storeDirectory).appendingPathComponent("jetstream/$G/streams")
        return ((try? FileManager.default.contentsOfDirectory(atPath: legacy.path)) ?? []).filter { $0.hasPrefix("KV_UNIBUS_") }.sorted()
    }
}

/// Why legacy allowlist streams could not be moved.
public enum MigrationError: Error, Equatable, Sendable, CustomStringConvertible {
    case clusterNeedsProcedure(String)
    case bothLayouts(String, String)
    case io(String, String)

    public var description: String {
        switch self {
        case .clusterNeedsProcedure(let dir):
            "\(dir) holds allowlist buckets in the global account from a version before accounts; a cluster cannot move them in place: follow \"Upgrading a cluster to accounts\" in cluster/README.md"
        case .bothLayouts(let old, let new):
            "both \(old) and \(new) exist: the allowlist is in two places; keep the one you trust (move the other away) and start again"
        case .io(let path, let reason): "cannot move \(path): \(reason)"
        }
    }
}
