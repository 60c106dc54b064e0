import Foundation
import UnibusCore
import UnibusStoreSQLite
import UnibusTestSupport

/// The stores the behaviour suite runs against. The KV store joins this list in its own issue.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    var testDescription: String { rawValue }
}

/// One backing store, and a way to open a second, independent handle on it (another process's
/// connection for SQLite, another client for KV) to exercise concurrent writers.
final class StoreHarness: Sendable {
    let kind: StoreKind
    let store: any AllowlistStore
    private let openAnother: @Sendable () throws -> any AllowlistStore
    private let dir: TempDirectory

    init(_ kind: StoreKind) throws {
        self.kind = kind
        dir = TempDirectory("store-\(kind.rawValue)")
        switch kind {
        case .sqlite:
            let path = dir.file("unibus.db")
            store = try SQLiteAllowlistStore(path: path)
            openAnother = { try SQLiteAllowlistStore(path: path) }
        }
    }

    func another() throws -> any AllowlistStore { try openAnother() }
}

import Testing
