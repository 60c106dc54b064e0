import GRDB
public import UnibusCore

extension SQLiteAllowlistStore: WritableProbe {
    /// Takes the write lock and writes a row, then rolls back: proves the file can be written
    /// without a commit, so the change feed (and an ACL render) is not woken for a health check.
    public func probeWritable() async throws {
        do {
            try await pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "INSERT INTO nonces (value, expires_at) VALUES ('healthz-probe', 0)")
                    return .rollback
                }
            }
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path)
        }
    }
}
