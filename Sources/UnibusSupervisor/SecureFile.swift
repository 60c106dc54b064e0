public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files holding secrets or naming them: written 0600 and atomically, read only when 0600.
public enum SecureFile {
    /// Writes `contents` to a temporary 0600 file beside `path`, syncs it, and renames it into place.
    /// - Throws: `SupervisorError.io` naming the path.
    public static func writeAtomically(_ contents: String, to path: String) throws {
        let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SupervisorError.io(path: tmp, reason: String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(tmp)
            throw SupervisorError.io(path: path, reason: "\(error)")
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw SupervisorError.io(path: path, reason: reason)
        }
    }

    /// Reads a secret file, refusing one that group or others may read. The mode is checked on the
    /// opened descriptor, so the file cannot be swapped between the check and the read.
    /// - Throws: `SupervisorError.fileMode` (with the chmod to run) or `.io`.
    public static func readSecret(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SupervisorError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SupervisorError.io(path: path, reason: String(cString: strerror(errno))) }
        guard st.st_mode & 0o077 == 0 else { throw SupervisorError.fileMode(path: path, mode: Int(st.st_mode & 0o777)) }
        return try handle.readToEnd() ?? Data()
    }
}
