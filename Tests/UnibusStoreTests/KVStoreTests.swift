import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusTestSupport

@testable import UnibusStoreKV

/// One nats-server with JetStream and a KV store on it.
struct KVWorld {
    let dir = TempDirectory("store-kv")
    let server: NatsServer
    let store: KVAllowlistStore

    init(_ configuration: KVStoreConfiguration = KVStoreConfiguration()) async throws {
        server = try await NatsServer.jetStream(in: dir)
        store = try await KVAllowlistStore.connect(server.options(), configuration: configuration)
    }

    func connect() async throws -> NatsConnection { try await NatsConnection.connect(server.options()) }
}

/// The error `body` throws, which must be a `StoreError`.
func storeError(_ body: () async throws -> Void) async -> StoreError? {
    do { try await body() } catch let error as StoreError { return error } catch { Issue.record("not a StoreError: \(error)") }
    return nil
}

/// What is particular to the JetStream KV store (the shared behaviour is in StoreBehaviourTests).
@Suite("KV store: buckets, errors, records")
struct KVStoreTests {
    @Test func bucketsAreCreatedWithDirectGetOffTheReplicasAndTheNonceTTL() async throws {
        let world = try await KVWorld(KVStoreConfiguration(nonceTTL: .seconds(120)))
        for bucket in KVAllowlistStore.Bucket.allCases {
            let status = try await world.store.jetStream.bucketStatus(bucket.rawValue)
            #expect(status.allowDirect == false, "\(bucket)")
            #expect(status.replicas == 1 && status.history == 1, "\(bucket)")
            #expect(status.maxAge == (bucket == .nonces ? .seconds(120) : nil), "\(bucket)")
        }
        // Opening again with the same configuration uses the buckets as they are.
        _ = try await KVAllowlistStore.connect(world.server.options(), configuration: KVStoreConfiguration(nonceTTL: .seconds(120)))
    }

    @Test func aBucketWithAnotherTTLIsRefusedNamingItAndTheDifference() async throws {
        let world = try await KVWorld()
        let error = await storeError {
            _ = try await KVAllowlistStore.connect(world.server.options(), configuration: KVStoreConfiguration(nonceTTL: .seconds(300)))
        }
        guard case .cannotOpen(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains("bucket UNIBUS_nonces"))
        #expect(message.contains("max_age is 600.0 s, expected 300.0 s"))
    }

    @Test func aBucketCreatedWithDirectGetIsRefused() async throws {
        let dir = TempDirectory("store-kv")
        let server = try await NatsServer.jetStream(in: dir)
        // What nats.c's js_CreateKeyValue (or `nats kv add`) would have made.
        let connection = try await NatsConnection.connect(server.options())
        let config =
            #"{"name":"KV_UNIBUS_users","subjects":["$KV.UNIBUS_users.>"],"max_msgs_per_subject":1,"discard":"new","#
            + #""deny_delete":true,"allow_rollup_hdrs":true,"allow_direct":true,"storage":"file","num_replicas":1}"#
        let reply = try await connection.request("$JS.API.STREAM.CREATE.KV_UNIBUS_users", payload: Array(config.utf8), timeout: .seconds(5))
        #expect(reply.string?.contains("\"error\"") == false, "\(reply.string ?? "")")
        let error = await storeError { _ = try await KVAllowlistStore.connect(server.options()) }
        guard case .cannotOpen(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains("bucket UNIBUS_users (stream KV_UNIBUS_users)"))
        #expect(message.contains("allow_direct is true, expected false"))
    }

    @Test func jetStreamDisabledIsAClearError() async throws {
        let dir = TempDirectory("store-kv")
        let server = try await NatsServer.jetStream(in: dir, jetStream: false)
        let error = await storeError { _ = try await KVAllowlistStore.connect(server.options()) }
        guard case .cannotOpen(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains("JetStream is not enabled on nats-server at \(server.url)"))
    }

    @Test func anUnreachableServerFailsWithin10SecondsNamingTheURL() async throws {
        let url = "nats://127.0.0.1:\(FreePort.next())"  // nothing listens
        let started = ContinuousClock.now
        let error = await storeError { _ = try await KVAllowlistStore.connect(NatsConnectOptions(servers: [url])) }
        guard case .unavailable(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains("cannot reach nats-server at \(url)"))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aSilentListenerFailsWithin10SecondsNamingTheURL() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let url = "nats://127.0.0.1:\(listener.port)"  // accepts TCP, never says INFO
        let started = ContinuousClock.now
        let error = await storeError { _ = try await KVAllowlistStore.connect(NatsConnectOptions(servers: [url])) }
        guard case .unavailable(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains(url))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func wrongLastSequenceIsATypedConflict() async throws {
        let world = try await KVWorld()
        let bucket = world.store.bucket(.rooms)
        let first = try await bucket.create("probe", value: Data("1".utf8))
        for attempt in ["create", "stale update"] {
            do throws(NatsKVError) {
                _ =
                    attempt == "create"
                    ? try await bucket.create("probe", value: Data("2".utf8))
                    : try await bucket.update("probe", value: Data("2".utf8), revision: first + 100)
                Issue.record("\(attempt) succeeded")
            } catch {
                guard case .wrongLastSequence(let name, let key, let detail) = error else { Issue.record("\(error)"); continue }
                #expect(name == "UNIBUS_rooms" && key == "probe" && detail.contains("wrong last sequence"))
                #expect(KVAllowlistStore.storeError(error) == .conflict(error.description))
            }
        }
        // A revision-checked update with the right revision, and a create over a delete marker.
        let second = try await bucket.update("probe", value: Data("3".utf8), revision: first)
        try await bucket.delete("probe", revision: second)
        #expect(try await bucket.get("probe") == nil)
        _ = try await bucket.create("probe", value: Data("4".utf8))
        #expect(try await bucket.get("probe")?.value == Data("4".utf8))
    }
}

/// A TCP listener that never accepts: connects succeed (the kernel's backlog) and stay silent.
final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw FixtureError("cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
