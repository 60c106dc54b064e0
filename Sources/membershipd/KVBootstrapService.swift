import Logging
import ServiceLifecycle
import UnibusACL
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusSupervisor

/// With `--store kv`: once nats-server is ready, connects as the internal identity, opens (or
/// creates) the buckets, hands the store to everyone waiting for it, and follows the buckets'
/// change stream into the ACL engine (every change any node makes), publishing this node's ACL
/// status in `UNIBUS_nodes`.
struct KVBootstrapService: Service {
    let serverReady: AsyncStream<Void>
    let options: NatsConnectOptions
    let configuration: KVStoreConfiguration
    let deferred: DeferredAllowlistStore
    let engine: AclEngine
    let logger: Logger

    func run() async throws {
        var iterator = serverReady.makeAsyncIterator()
        guard await iterator.next() != nil else { return }
        var store: KVAllowlistStore?
        var lastReport: ContinuousClock.Instant?
        while store == nil && !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                store = try await KVAllowlistStore.connect(options, configuration: configuration)
            } catch {
                // A node started before its peers cannot open R3 buckets: say so every 10 s, not every second.
                if lastReport.map({ ContinuousClock.now - $0 >= .seconds(10) }) ?? true {
                    lastReport = ContinuousClock.now
                    if configuration.replicas > 1, case StoreError.unavailable = error {
                        logger.warning(
                            "waiting for quorum: the allowlist buckets need \(configuration.replicas / 2 + 1) of \(configuration.replicas) nodes routed; retrying every second (\(error))"
                        )
                    } else {
                        logger.warning("JetStream KV not open yet, retrying every second: \(error)")
                    }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        guard let store else { return }
        // Without its status board the node still follows the KV and enforces every change;
        // only the CLI's confirmations cannot count it. Never worth blocking the ACL for.
        var board: KVAclStatusBoard?
        for attempt in 1...5 where board == nil && !Task.isCancelled {
            do {
                board = try await KVAclStatusBoard.open(store)
            } catch {
                logger.warning("bucket \(KVAclStatusBoard.bucket) not open (attempt \(attempt) of 5): \(error)")
                if attempt < 5 { try? await Task.sleep(for: .seconds(1)) }
            }
        }
        if board == nil {
            logger.error(
                "this node does not publish its ACL status in \(KVAclStatusBoard.bucket): CLI changes are enforced but not confirmed by it")
        }
        let source = KVAclSource(store: store)
        await engine.attach(source: source, board: board)
        deferred.fulfill(store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await AclFollowService(engine: engine, source: source, heartbeat: KVAclStatusBoard.heartbeat).run() }
            group.addTask { await announceOpen() }
            try await group.waitForAll()
        }
    }

    /// Says "KV allowlist open" once what the buckets hold is in force here and this node's status
    /// is on the board: a CLI write right after the line is confirmed by this node.
    private func announceOpen() async {
        do {
            _ = try await engine.sync(timeout: .seconds(30))
            await engine.publishStatus()
        } catch {
            logger.warning("the allowlist is open but not yet in force on this node: \(error)")
        }
        logger.notice("KV allowlist open (replicas \(configuration.replicas))")
    }
}
