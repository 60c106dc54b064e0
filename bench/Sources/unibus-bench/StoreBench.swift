import Foundation
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusStoreSQLite

/// Store operations per second: unibus KV (R1) vs raw nats.c kvStore_Create/Get on the same
/// server, and the SQLite store. Sequential, one operation in flight.
enum StoreBench {
    static func run(_ cfg: BenchConfig) async throws -> String {
        let n = cfg.storeOps
        let loadBefore = loadAverage()
        Log.info("store: \(n) ops each; generating \(2 * n) key pairs")
        let kvUsers = (0..<n).map { _ in UserKeyPair() }
        let sqlUsers = (0..<n).map { _ in UserKeyPair() }

        let node = try PlainJetStreamNode(executable: cfg.natsServer, label: "store-js")
        try await node.start()
        defer { node.stop() }
        let kv = try await KVAllowlistStore.connect(NatsConnectOptions(servers: [node.url], name: "unibus-bench-kv", timeout: .seconds(5)))
        let sqlDir = try makeTempDirectory("store-sqlite")
        let sql = try SQLiteAllowlistStore(path: sqlDir.appendingPathComponent("unibus.db").path)

        func measure(_ store: any AllowlistStore, _ pairs: [UserKeyPair], _ label: String) async throws -> [String: OpSample] {
            var out: [String: OpSample] = [:]
            Log.info("store: \(label) addUser")
            out["add"] = try await timeSequential(n) { i in
                try await store.addUser(User(signPub: pairs[i].signPub, handle: try Handle("b\(i)"), role: .member, createdAt: Date()))
            }
            Log.info("store: \(label) consumeNonce")
            let expires = Date().addingTimeInterval(300)
            let nonces = (0..<n).map { _ in RequestSigner.randomNonce() }
            out["nonce"] = try await timeSequential(n) { i in
                guard try await store.consumeNonce(nonces[i], expiresAt: expires, now: Date()) else { throw BenchError("nonce refused") }
            }
            let me = pairs[0].signPub
            for r in 0..<3 {
                let id = try RoomID("room\(r)")
                try await store.createRoom(Room(id: id, createdBy: me, createdAt: Date()))
                try await store.putMember(Member(room: id, signPub: me, role: .member, addedAt: Date()))
            }
            Log.info("store: \(label) rooms(ofMember:)")
            out["rooms"] = try await timeSequential(n) { _ in
                guard try await store.rooms(ofMember: me).count == 3 else { throw BenchError("rooms(ofMember:) did not return 3 rooms") }
            }
            return out
        }

        let kvResult = try await measure(kv, kvUsers, "KV")
        let sqlResult = try await measure(sql, sqlUsers, "SQLite")

        Log.info("store: raw nats.c kvStore_Create / kvStore_Get")
        let url = node.url
        let bucket = KVAllowlistStore.Bucket.nonces.rawValue
        let value = Array(#"{"expires_at":"2026-11-25T00:00:00Z"}"#.utf8)
        let rawCreate = try await timeRaw {
            let raw = try RawKV(url: url, bucket: bucket)
            return try raw.create(count: n, prefix: "rawbench", value: value)
        }
        let rawGet = try await timeRaw {
            let raw = try RawKV(url: url, bucket: bucket)
            return try raw.get(count: n, key: "rawbench0")
        }

        var table = Table("operation", "store", "ops/s", "p50 µs", "p99 µs", "unibus KV / raw nats.c")
        func row(_ op: String, _ store: String, _ s: OpSample, _ ratio: Double? = nil) {
            table.add(op, store, Format.int(s.rate), Format.fixed(s.p50), Format.fixed(s.p99), ratio.map(Format.ratio) ?? "")
        }
        row("raw `kvStore_Create` (nats.c loop)", "KV R1", rawCreate)
        row("raw `kvStore_Get` (nats.c loop)", "KV R1", rawGet)
        for (key, name, base) in [
            ("add", "addUser", rawCreate), ("nonce", "consumeNonce", rawCreate), ("rooms", "rooms(ofMember:) (3 rooms)", rawGet),
        ] {
            let k = kvResult[key]!, s = sqlResult[key]!
            row(name, "unibus KV R1", k, k.rate / base.rate)
            row(name, "SQLite (WAL, temp file)", s)
        }
        return """
            ### Store operations per second

            Sequential, one operation in flight, \(Format.int(Double(n))) operations each. KV: a nats-server with JetStream
            on 127.0.0.1 (no TLS, no auth), buckets as `KVAllowlistStore` creates them (R1, history 1, file storage);
            *raw* = nats.c called directly from one thread on the same server, bound with `js_KeyValue` to
            `UNIBUS_nonces` (`kvStore_Create` of fresh keys, `kvStore_Get` of one key). SQLite: `SQLiteAllowlistStore`
            on a temp file. Ratio: addUser and consumeNonce against raw create, rooms(ofMember:) against raw get.
            Load average before/after: \(loadBefore) → \(loadAverage()).

            \(table.markdown)
            """
    }
}
