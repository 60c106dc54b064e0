public import ServiceLifecycle
public import UnibusCore

/// Follows a store's change stream into the engine, and re-publishes this node's ACL status
/// every `heartbeat` (so the status board can tell running nodes from stopped ones). On
/// shutdown the node's status is withdrawn.
public struct AclFollowService: Service {
    let engine: AclEngine
    let source: any AclChangeSource
    let heartbeat: Duration

    public init(engine: AclEngine, source: any AclChangeSource, heartbeat: Duration = .seconds(10)) {
        self.engine = engine
        self.source = source
        self.heartbeat = heartbeat
    }

    public func run() async throws {
        let events = source.events(after: await engine.position)
        try? await cancelWhenGracefulShutdown { [engine, heartbeat] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in events { await engine.ingest(event) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: heartbeat)
                        await engine.publishStatus()
                    }
                }
            }
        }
        await engine.withdrawStatus()
    }
}
