/// A nats-server release, parsed from `nats-server --version` ("nats-server: v2.9.10").
public struct NatsServerVersion: Comparable, Sendable, CustomStringConvertible {
    public let major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses the output of `nats-server --version`; nil when it names no version.
    public init?(versionOutput: String) {
        guard let token = versionOutput.split(whereSeparator: { $0 == " " || $0 == "\n" }).first(where: { $0.hasPrefix("v") })
        else { return nil }
        let core = token.dropFirst().split(separator: "-").first ?? ""
        let parts = core.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        self.init(parts[0], parts[1], parts[2])
    }

    public var description: String { "v\(major).\(minor).\(patch)" }
    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }

    /// `cluster { compression }` and `cluster { pool_size }` arrived in 2.10.0 (2.9.x refuses them).
    public var supportsRouteCompression: Bool { self >= NatsServerVersion(2, 10, 0) }
}
