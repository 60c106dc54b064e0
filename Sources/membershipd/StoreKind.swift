import ArgumentParser

/// Where the allowlist lives (`--store`): a SQLite file or the JetStream KV of the running
/// node(s). Any other value is refused with exit 1 (a bad value), listing these.
enum StoreKind: String, CaseIterable, Codable, ExpressibleByArgument, Sendable {
    case sqlite
    case kv
}
