import ArgumentParser

/// Where the allowlist lives (`--store`): a SQLite file or the JetStream KV of the running
/// node(s). ArgumentParser refuses any other value with exit 2, listing these.
enum StoreKind: String, CaseIterable, Codable, ExpressibleByArgument, Sendable {
    case sqlite
    case kv
}
