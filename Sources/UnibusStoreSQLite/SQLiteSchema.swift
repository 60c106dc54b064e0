import GRDB

/// Versioned schema. A shipped migration is never edited: add a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-allowlist") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        sign_pub   TEXT PRIMARY KEY NOT NULL CHECK (length(sign_pub) = 64),
                        handle     TEXT NOT NULL UNIQUE,
                        role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
                        status     TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
                        created_at REAL NOT NULL,
                        revoked_at REAL
                    ) STRICT;
                    CREATE TABLE rooms (
                        id         TEXT PRIMARY KEY NOT NULL,
                        created_by TEXT NOT NULL REFERENCES users(sign_pub),
                        created_at REAL NOT NULL
                    ) STRICT;
                    CREATE TABLE members (
                        room     TEXT NOT NULL REFERENCES rooms(id),
                        sign_pub TEXT NOT NULL REFERENCES users(sign_pub),
                        role     TEXT NOT NULL CHECK (role IN ('owner', 'member')),
                        added_at REAL NOT NULL,
                        PRIMARY KEY (room, sign_pub)
                    ) STRICT, WITHOUT ROWID;
                    -- rooms-by-member
                    CREATE INDEX members_by_sign_pub ON members(sign_pub, room);
                    CREATE TABLE room_keys (
                        room       TEXT NOT NULL REFERENCES rooms(id),
                        recipient  TEXT NOT NULL REFERENCES users(sign_pub),
                        epoch      INTEGER NOT NULL CHECK (epoch >= 0),
                        wrapped    BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (room, recipient, epoch)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE nonces (
                        value      TEXT PRIMARY KEY NOT NULL,
                        expires_at REAL NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX nonces_by_expiry ON nonces(expires_at);
                    -- users are never deleted
                    CREATE TRIGGER users_no_delete BEFORE DELETE ON users
                    BEGIN SELECT RAISE(ABORT, 'users are never deleted; revoke instead'); END;
                    """)
        }
        return migrator
    }
}
