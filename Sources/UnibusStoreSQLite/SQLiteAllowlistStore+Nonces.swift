public import Foundation
import GRDB
public import UnibusCore

extension SQLiteAllowlistStore {
    public func consumeNonce(_ nonce: NonceValue, expiresAt: Date, now: Date) async throws -> Bool {
        try await write { db in
            // Expired nonces can no longer accompany a valid signature: drop them first, so the
            // table stays bounded by the signature window.
            try db.execute(sql: "DELETE FROM nonces WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO nonces (value, expires_at) VALUES (?, ?) ON CONFLICT (value) DO NOTHING",
                arguments: [nonce.value, expiresAt.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }
}
