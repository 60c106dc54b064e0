public import Foundation
public import UnibusCore

/// membershipd's own nkey (the one identity with JetStream rights), kept as an nkey seed
/// (`SU…`) in a 0600 file.
public enum InternalIdentityFile {
    /// Loads the identity, creating the file (0600) with a new random key when it is absent.
    /// - Returns: the key pair and whether the file was created.
    /// - Throws: `SupervisorError.fileMode` for a file group or others may read; `.io` for a bad file.
    public static func loadOrCreate(_ path: String) throws -> (keyPair: UserKeyPair, created: Bool) {
        if !FileManager.default.fileExists(atPath: path) {
            let pair = UserKeyPair()
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty {
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try SecureFile.writeAtomically(pair.nkeySeed + "\n", to: path)
            return (pair, true)
        }
        return (try load(path), false)
    }

    /// Loads an existing identity file.
    public static func load(_ path: String) throws -> UserKeyPair {
        let text = String(decoding: try SecureFile.readSecret(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let (prefix, seed) = try NKey.decodeSeed(text)
            guard prefix == .user else { throw NKeyError.invalidPrefix }
            return try UserKeyPair(seed: seed)
        } catch {
            throw SupervisorError.io(path: path, reason: "not a user nkey seed (\(error)); the file must hold one SU… line")
        }
    }
}
