import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusStoreSQLite
import UnibusTestSupport

/// The stores the behaviour suite runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    /// JetStream KV on a real nats-server (Debian's 2.9.10) started for the test.
    case kv
    var testDescription: String { rawValue }
}

/// One backing store, and a way to open a second, independent handle on it (another process's
/// connection for SQLite, another client connection for KV) to exercise concurrent writers.
/// A KV harness owns its nats-server, stopped when the harness goes away.
final class StoreHarness: Sendable {
    let kind: StoreKind
    let store: any AllowlistStore
    private let openAnother: @Sendable () async throws -> any AllowlistStore
    private let dir: TempDirectory
    /// The KV store's server (nil for SQLite).
    let server: NatsServer?

    init(_ kind: StoreKind) async throws {
        self.kind = kind
        let dir = TempDirectory("store-\(kind.rawValue)")
        self.dir = dir
        switch kind {
        case .sqlite:
            let path = dir.file("unibus.db")
            store = try SQLiteAllowlistStore(path: path)
            openAnother = { try SQLiteAllowlistStore(path: path) }
            server = nil
        case .kv:
            let server = try await NatsServer.jetStream(in: dir)
            self.server = server
            store = try await KVAllowlistStore.connect(server.options())
            openAnother = { try await KVAllowlistStore.connect(server.options(name: "unibus-store-tests-2")) }
        }
    }

    /// Stops the server (SIGINT now, SIGKILL after 5 s) as its store directory goes.
    deinit { server?.requestStop() }

    func another() async throws -> any AllowlistStore { try await openAnother() }
}
