public import ServiceLifecycle
public import UnibusCore

/// Re-applies the ACL whenever the allowlist changes. Bursts coalesce: the feed buffers at most
/// one pending signal, and each apply renders the allowlist as it is *then*, so 1,000 changes in
/// a row cost a handful of reloads and the last change is always applied.
public struct AclReloadService: Service {
    let pipeline: AclPipeline
    let feed: any AllowlistChangeFeed

    public init(pipeline: AclPipeline, feed: any AllowlistChangeFeed) {
        self.pipeline = pipeline
        self.feed = feed
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in feed.changes().cancelOnGracefulShutdown() {
                await pipeline.apply()
            }
        } onGracefulShutdown: {
        }
    }
}
