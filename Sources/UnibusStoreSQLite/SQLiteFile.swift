import Foundation
import UnibusCore

/// Creates the database file with mode 0600 before SQLite opens it (SQLite gives its -wal and
/// -shm files the same mode), and refuses a missing directory with a clear message.
enum SQLiteFile {
    static func prepare(path: String, create: Bool, createDirectory: Bool) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard createDirectory else {
                throw StoreError.cannotOpen("directory \(dir) does not exist; create it or choose another --db")
            }
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } else if !isDir.boolValue {
            throw StoreError.cannotOpen("\(dir) is not a directory; choose another --db")
        }
        if !create, !FileManager.default.fileExists(atPath: path) {
            throw StoreError.cannotOpen("database \(path) does not exist; check --db (it is created by `user add` or `serve`)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd); return }
        guard errno == EEXIST else {
            throw StoreError.cannotOpen("cannot create database \(path): \(String(cString: strerror(errno)))")
        }
        guard access(path, R_OK | W_OK) == 0 else {
            throw StoreError.cannotOpen("cannot read and write database \(path): \(String(cString: strerror(errno)))")
        }
    }
}
