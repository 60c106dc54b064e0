public import Foundation

/// A fresh directory under the system temp dir, removed when the value is released.
public final class TempDirectory: @unchecked Sendable {
    /// The directory.
    public let url: URL
    /// The directory's path.
    public var path: String { url.path }

    /// Creates `<tmp>/<label>-<random>` with mode 0700. Include `unibus-test` in `label` when a
    /// process started with a path inside must be seen by scripts/test.sh's leak check.
    public init(_ label: String = "unibus") {
        let base = FileManager.default.temporaryDirectory
        url = base.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try! FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
