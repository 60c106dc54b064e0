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
        // The ACL change log: every commit that touches a user or a membership appends the
        // sign-pubs it touched, in commit order, whoever wrote it (any process). A node tails it
        // (`SQLiteAclSource`) and re-renders only those users. The last 100,000 entries are kept;
        // a reader that fell further behind reads a snapshot instead.
        migrator.registerMigration("v2-acl-change-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE acl_changes (
                        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                        sign_pub TEXT NOT NULL
                    ) STRICT;
                    CREATE TRIGGER acl_changes_prune AFTER INSERT ON acl_changes
                    BEGIN DELETE FROM acl_changes WHERE seq <= NEW.seq - 100000; END;
                    CREATE TRIGGER users_insert_logged AFTER INSERT ON users
                    BEGIN INSERT INTO acl_changes (sign_pub) VALUES (NEW.sign_pub); END;
                    CREATE TRIGGER users_update_logged AFTER UPDATE ON users
                    BEGIN INSERT INTO acl_changes (sign_pub) VALUES (NEW.sign_pub); END;
                    CREATE TRIGGER members_insert_logged AFTER INSERT ON members
                    BEGIN INSERT INTO acl_changes (sign_pub) VALUES (NEW.sign_pub); END;
                    CREATE TRIGGER members_update_logged AFTER UPDATE ON members
                    BEGIN
                        INSERT INTO acl_changes (sign_pub) VALUES (NEW.sign_pub);
                        INSERT INTO acl_changes (sign_pub) SELECT OLD.sign_pub WHERE OLD.sign_pub <> NEW.sign_pub;
                    END;
                    CREATE TRIGGER members_delete_logged AFTER DELETE ON members
                    BEGIN INSERT INTO acl_changes (sign_pub) VALUES (OLD.sign_pub); END;
                    """)
        }
        return migrator
    }
}
