import Foundation
import NIOSSL
import UnibusSupervisor

#if canImport(Glibc)
    import Glibc
#endif

/// Files an operator names with a flag, checked before anything starts so that a missing or
/// wrong file is reported with its flag, its path and the fix, never as a TLS library's error
/// dump or an errno number.
enum OperatorFile {
    /// A PEM certificate (or CA bundle) the flag names.
    /// - Parameters:
    ///   - path: the file.
    ///   - flag: the flag that named it (`--tls-cert`), or how it was found.
    ///   - fix: what to give instead (`the node's server certificate, see tls/generate-certs.sh`).
    /// - Throws: `ServeError.invalid` naming the flag, the file and the fix.
    static func certificate(_ path: String, flag: String, fix: String) throws {
        let text = try read(path, flag: flag, fix: fix)
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            throw ServeError.invalid("\(flag) \(path) is not a PEM certificate (no BEGIN CERTIFICATE line): give \(fix)")
        }
        guard (try? NIOSSLCertificate.fromPEMFile(path))?.isEmpty == false else {
            throw ServeError.invalid("\(flag) \(path) holds no readable certificate (damaged or truncated PEM?): give \(fix)")
        }
    }

    /// A private key the flag names: readable by its owner only (contract section 7).
    /// - Parameter pem: the file must hold a PEM private key (TLS); false for an nkey seed.
    /// - Throws: `ServeError.invalid` naming the flag, the file and the fix (`chmod 600` for a
    ///   key others can read).
    static func privateKey(_ path: String, flag: String, fix: String, pem: Bool = true) throws {
        do {
            _ = try SecureFile.readSecret(path)
        } catch SupervisorError.fileMode(let path, let mode) {
            throw ServeError.invalid("\(flag) \(path) is readable by group or others (mode \(String(mode, radix: 8))); run: chmod 600 \(path)")
        } catch {
            _ = try read(path, flag: flag, fix: fix)  // names why it cannot be read
            throw error
        }
        if pem, (try? NIOSSLPrivateKey(file: path, format: .pem)) == nil {
            throw ServeError.invalid("\(flag) \(path) holds no readable PEM private key: give \(fix)")
        }
    }

    /// The file's text. - Throws: `ServeError.invalid` saying why it cannot be read.
    private static func read(_ path: String, flag: String, fix: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let why = errno == ENOENT ? "no such file" : errno == EACCES ? "permission denied" : String(cString: strerror(errno))
            throw ServeError.invalid("\(flag) \(path): cannot read it (\(why)): give \(fix)")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
