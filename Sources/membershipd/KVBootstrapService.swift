import Logging
import ServiceLifecycle
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor

/// With `--store kv`: once nats-server is ready, connects as the internal identity, opens (or
/// creates) the buckets, hands the store to everyone waiting for it, applies the real ACL, and
/// then re-applies it on every change any node makes (watching the buckets).
struct KVBootstrapService: Service {
    let serverReady: AsyncStream<Void>
    let options: NatsConnectOptions
    let configuration: KVStoreConfiguration
    let deferred: DeferredAllowlistStore
    let pipeline: AclPipeline
    let logger: Logger

    func run() async throws {
        var iterator = serverReady.makeAsyncIterator()
        guard await iterator.next() != nil else { return }
        var store: KVAllowlistStore?
        while store == nil && !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                store = try await KVAllowlistStore.connect(options, configuration: configuration)
            } catch {
                logger.warning("JetStream KV not open yet, retrying in 1 s: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
        guard let store else { return }
        deferred.fulfill(store)
        logger.notice("KV allowlist open (replicas \(configuration.replicas))")
        await pipeline.apply()
        await withGracefulShutdownHandler {
            for await _ in KVChangeFeed(store: store).changes().cancelOnGracefulShutdown() {
                await pipeline.apply()
            }
        } onGracefulShutdown: {
        }
    }
}
