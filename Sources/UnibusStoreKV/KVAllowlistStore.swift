import Synchronization
public import UnibusCore
public import UnibusNats

/// The allowlist in JetStream KV: one bucket per record kind, JSON values, one node or a cluster.
/// Values are storage records (KVStoredRecords.swift), never the core models' or the API's JSON.
///
/// Key layout (every valid id is a valid KV key: no dots inside an id):
///
/// | bucket                   | key                          | value                          |
/// |--------------------------|------------------------------|--------------------------------|
/// | `UNIBUS_users`           | `<sign-pub hex>`             | `StoredUser`                   |
/// | `UNIBUS_users`           | `handle.<handle>`            | `{"sign_pub"}` (reservation)   |
/// | `UNIBUS_rooms`           | `<room>`                     | `StoredRoom`                   |
/// | `UNIBUS_rooms`           | `<room>.owner-guard`         | `{"changing"?}` (owner guard)  |
/// | `UNIBUS_members`         | `<room>.<sign-pub>`          | `StoredMember`                 |
/// | `UNIBUS_rooms_by_member` | `<sign-pub>.<room>`          | `{"room","sign_pub"}`          |
/// | `UNIBUS_room_keys`       | `<room>.<recipient>.<epoch>` | `StoredRoomKey`                |
/// | `UNIBUS_nonces`          | `<nonce>`                    | `{"expires_at"}`               |
///
/// Consistency without transactions:
/// - one-winner writes are create-only (a user's key, a handle reservation, a room, a nonce);
///   changes of a record are revision-checked and retried, so no update is lost;
/// - a handle is reserved (create-only `handle.<h>`) *before* the user record is written;
/// - rooms-by-member always covers the members bucket: an index entry is written before its
///   membership and removed after it, each writer re-checks the other side afterwards, and
///   ``rooms(ofMember:)`` confirms each entry against the members bucket (dropping leftovers of
///   a crash), so a crash between the two writes never shows or hides a room;
/// - a room always keeps an owner: writes that take an owner away are serialised per room by
///   a revision-checked owner guard and check the other owners under it;
/// - reads come from stream leaders (buckets are created with direct get off), lists prove
///   they are not a lagging replica's (see ``NatsKeyValue/entries()``);
/// - nonces are never deleted (a delete marker would let a create succeed again): they leave
///   through the bucket's max age, the signature window.
///
/// ```swift
/// let store = try await KVAllowlistStore.connect(NatsConnectOptions(servers: ["nats://127.0.0.1:4250"]))
/// try await store.addUser(user)
/// ```
public final class KVAllowlistStore: AllowlistStore {
    /// The six buckets, named by the contract.
    public enum Bucket: String, CaseIterable, Sendable {
        case users = "UNIBUS_users"
        case rooms = "UNIBUS_rooms"
        case members = "UNIBUS_members"
        case roomKeys = "UNIBUS_room_keys"
        case roomsByMember = "UNIBUS_rooms_by_member"
        case nonces = "UNIBUS_nonces"
    }

    /// The JetStream context the buckets are bound with.
    public let jetStream: NatsJetStream
    public let configuration: KVStoreConfiguration
    let users: NatsKeyValue
    let rooms: NatsKeyValue
    let members: NatsKeyValue
    let roomKeys: NatsKeyValue
    let roomsByMember: NatsKeyValue
    let nonces: NatsKeyValue
    /// Owner guards seen held by another writer: key → (revision, first seen on this node's
    /// monotonic clock). See ``takeOwnerGuard(_:for:)``.
    let guardSightings = Mutex<[String: (revision: UInt64, since: ContinuousClock.Instant)]>([:])

    /// Creates missing buckets (replicas and nonce TTL from `configuration`), checks existing
    /// ones, and binds them all. With `createBuckets` false (operator commands: only `serve`
    /// creates buckets) it binds existing buckets and creates nothing.
    /// - Throws: `StoreError.cannotOpen` when JetStream is disabled, a bucket exists with a
    ///   conflicting configuration (the message names the bucket and the difference), or a
    ///   bucket is missing and may not be created; `StoreError.unavailable` when JetStream does
    ///   not answer (no quorum).
    public init(
        connection: NatsConnection, configuration: KVStoreConfiguration = KVStoreConfiguration(), createBuckets: Bool = true
    ) async throws(StoreError) {
        self.configuration = configuration
        let js: NatsJetStream
        var missing: Bucket?
        do throws(NatsKVError) {
            js = try await NatsJetStream(connection: connection, wait: configuration.wait)
            if !createBuckets {
                for bucket in Bucket.allCases where try await !js.bucketExists(bucket.rawValue) {
                    missing = bucket
                    break
                }
            }
        } catch {
            throw Self.storeError(error)
        }
        if let missing {
            throw .cannotOpen(
                "this server has no allowlist bucket \(missing.rawValue): only `membershipd serve --store kv` creates the buckets "
                    + "(is this node serving SQLite, or not started yet?)")
        }
        do throws(NatsKVError) {
            func open(_ bucket: Bucket) async throws(NatsKVError) -> NatsKeyValue {
                let config = configuration.bucketConfig(bucket)
                return createBuckets ? try await js.keyValue(config) : try await js.bind(config.bucket, maxAge: config.maxAge)
            }
            jetStream = js
            users = try await open(.users)
            rooms = try await open(.rooms)
            members = try await open(.members)
            roomKeys = try await open(.roomKeys)
            roomsByMember = try await open(.roomsByMember)
            nonces = try await open(.nonces)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Connects to nats-server and opens the store.
    /// - Throws: `StoreError.unavailable` naming the URL when the server cannot be reached
    ///   (within about `options.timeout` per URL), or what ``init(connection:configuration:)`` throws.
    public static func connect(
        _ options: NatsConnectOptions, configuration: KVStoreConfiguration = KVStoreConfiguration()
    ) async throws(StoreError) -> KVAllowlistStore {
        let connection: NatsConnection
        do throws(NatsError) {
            connection = try await NatsConnection.connect(options)
        } catch {
            throw .unavailable(
                "cannot reach nats-server at \(options.serverList): \(error.detail) (natsStatus \(error.status)); "
                    + "check --nats-url and that membershipd serve is running there")
        }
        return try await KVAllowlistStore(connection: connection, configuration: configuration)
    }

    /// A bucket, for tools (migration, status, tests) that need the raw values.
    public func bucket(_ bucket: Bucket) -> NatsKeyValue {
        switch bucket {
        case .users: users
        case .rooms: rooms
        case .members: members
        case .roomKeys: roomKeys
        case .roomsByMember: roomsByMember
        case .nonces: nonces
        }
    }

    /// Runs the rest of a write operation once it may have sent a write: if the store then stops
    /// answering (a read that re-checks, a second write), what was sent may have landed, so
    /// `unavailable` ("nothing was changed") becomes `outcomeUnknown`.
    func mayHaveWritten<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch StoreError.unavailable(let why) { throw StoreError.outcomeUnknown(why) }
    }

    /// The store's view of a KV failure of a read, or of opening the buckets.
    static func storeError(_ error: NatsKVError) -> StoreError {
        switch error {
        case .wrongLastSequence: .conflict(error.description)
        case .unavailable, .failed, .invalidKey: .unavailable(error.description)
        case .jetStreamDisabled, .bucketConflict: .cannotOpen(error.description)
        }
    }

    /// The store's view of a KV failure of a write: one that was sent but not acknowledged
    /// (timeout, no quorum, connection lost) may have been stored, so it is `outcomeUnknown`,
    /// never "nothing was changed". A key refused before sending changed nothing.
    static func writeError(_ error: NatsKVError) -> StoreError {
        switch error {
        case .unavailable, .failed: .outcomeUnknown(error.description)
        case .wrongLastSequence, .invalidKey, .jetStreamDisabled, .bucketConflict: storeError(error)
        }
    }
}

/// How the KV store creates and uses its buckets.
public struct KVStoreConfiguration: Sendable, Hashable {
    /// Stream replicas of every bucket: 1 on one node, 3 in a cluster.
    public var replicas: Int
    /// Max age of the nonce bucket: as long as a signature carrying a nonce can be valid.
    /// The default, 600 s, is twice the 300 s signature window (a `created` up to 300 s ahead
    /// of the server clock stays valid until 300 s after it).
    public var nonceTTL: Duration
    /// Bound on each KV request and acknowledgement.
    public var wait: Duration
    /// Attempts of a revision-checked change before it gives up with `StoreError.conflict`.
    public var maxAttempts: Int
    /// How long a room's owner guard must be seen held, unchanged, on this node's own monotonic
    /// clock before this node takes it over (a writer that died while holding it).
    public var ownerGuardGrace: Duration

    public init(
        replicas: Int = 1, nonceTTL: Duration = .seconds(600), wait: Duration = .seconds(5), maxAttempts: Int = 20,
        ownerGuardGrace: Duration = .seconds(30)
    ) {
        self.replicas = replicas
        self.nonceTTL = nonceTTL
        self.wait = wait
        self.maxAttempts = maxAttempts
        self.ownerGuardGrace = ownerGuardGrace
    }

    /// The stream configuration of one bucket.
    public func bucketConfig(_ bucket: KVAllowlistStore.Bucket) -> NatsKVBucketConfig {
        NatsKVBucketConfig(bucket: bucket.rawValue, replicas: replicas, maxAge: bucket == .nonces ? nonceTTL : nil)
    }
}
