public import Foundation
public import UnibusCore

/// The ACL status of the one node serving a SQLite allowlist: a small JSON file beside the
/// database (`<db>.acl-status`, 0600), rewritten atomically after every change in force.
///
/// The node counts as running while it holds its instance lock (`membershipd.lock` in the
/// database's directory, taken by `serve`): a status left behind by a stopped node is ignored.
public struct SQLiteAclStatusBoard: AclStatusBoard {
    public let file: String
    let lockFile: String

    public init(databasePath: String) {
        let absolute = URL(fileURLWithPath: databasePath).standardizedFileURL
        file = absolute.path + ".acl-status"
        lockFile = absolute.deletingLastPathComponent().appendingPathComponent("membershipd.lock").path
    }

    public func publish(_ status: NodeAclStatus) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(status)
        let temporary = file + ".next"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.unavailable("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == data.count, rename(temporary, file) == 0 else {
            throw StoreError.unavailable("cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }

    public func runningNodes() async throws -> [NodeAclStatus] {
        guard lockIsHeld(), let data = FileManager.default.contents(atPath: file) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let status = try? decoder.decode(NodeAclStatus.self, from: data) else { return [] }
        return [status]
    }

    public func withdraw(node: String) async { unlink(file) }

    /// Whether a `serve` holds the directory's instance lock (a shared lock cannot be had then).
    func lockIsHeld() -> Bool {
        let fd = open(lockFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }
}
