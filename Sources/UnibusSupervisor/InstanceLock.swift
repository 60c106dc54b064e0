public import Foundation

/// One `membershipd serve` per state directory: an exclusive `flock` on `<dir>/membershipd.lock`,
/// held for the life of the process (the kernel drops it when the process dies, however it dies).
/// It is taken before anything in the directory is touched, so a second instance changes nothing:
/// no stale-server kill, no config rewrite.
public final class InstanceLock: Sendable {
    let fd: Int32
    public let path: String

    /// - Throws: `InstanceLockError.held` naming the running instance's pid, or `.io`.
    public init(directory: String) throws(InstanceLockError) {
        path = URL(fileURLWithPath: directory).appendingPathComponent("membershipd.lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw .held(path, pid: holder.flatMap { Int32($0) })
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }

    /// Whether a running `membershipd serve` holds `directory` (asks without taking the lock for
    /// longer than the question; a directory with no lock file is not held).
    public static func isHeld(directory: String) -> Bool {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("membershipd.lock").path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }
}

/// Another instance holds the directory.
public enum InstanceLockError: Error, Equatable, Sendable, CustomStringConvertible {
    case held(String, pid: Int32?)
    case io(String, String)

    public var description: String {
        switch self {
        case .held(let path, let pid):
            "another membershipd\(pid.map { " (pid \($0))" } ?? "") is already serving this directory (it holds \(path)); stop it, or start this one in another directory"
        case .io(let path, let reason): "cannot open \(path): \(reason)"
        }
    }
}
