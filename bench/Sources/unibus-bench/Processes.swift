import Foundation
import Synchronization
import UnibusProcess
import UnibusSupervisor

/// Progress goes to stderr; the tables go to stdout.
enum Log {
    static func info(_ text: String) {
        FileHandle.standardError.write(Data("[bench] \(text)\n".utf8))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every process and temp directory the bench made, so that any exit path (normal end, thrown
/// error, SIGINT/SIGTERM, the watchdog) stops and removes them.
final class Cleanup: @unchecked Sendable {
    static let shared = Cleanup()
    private let lock = NSLock()
    private let runLock = NSLock()
    private var children: [ObjectIdentifier: BenchProcess] = [:]
    private var directories: [URL] = []
    var keepDirectories = false
    private var signalSources: [any DispatchSourceSignal] = []

    func track(_ child: BenchProcess) { lock.withLock { children[ObjectIdentifier(child)] = child } }
    func untrack(_ child: BenchProcess) { _ = lock.withLock { children.removeValue(forKey: ObjectIdentifier(child)) } }
    func track(_ directory: URL) { lock.withLock { directories.append(directory) } }

    /// Stops every child still running (SIGTERM, SIGKILL after a grace period) and removes the
    /// temp directories. Safe to call more than once.
    func run() {
        // Serialised: a second caller (say the main task after a signal handler started) waits
        // until the first has finished, so nobody exits halfway through the cleanup.
        runLock.lock()
        defer { runLock.unlock() }
        let (running, dirs) = lock.withLock {
            defer { children = [:]; directories = [] }
            return (Array(children.values), directories)
        }
        for child in running { child.stop(grace: 5) }
        if !keepDirectories {
            for dir in dirs { try? FileManager.default.removeItem(at: dir) }
        } else if !dirs.isEmpty {
            Log.info("kept temp directories: \(dirs.map(\.path).joined(separator: " "))")
        }
    }

    /// SIGINT/SIGTERM/SIGHUP: clean up, then exit 128+signal.
    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                Log.info("signal \(sig): stopping every process the bench started")
                run()
                exit(128 + sig)
            }
            source.resume()
            lock.withLock { signalSources.append(source) }
        }
    }

    /// Bounds the whole run: after `seconds`, clean up and exit 3.
    func installWatchdog(seconds: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { [self] in
            Log.info("watchdog: the run exceeded \(seconds) s; stopping everything")
            run()
            exit(3)
        }
    }
}

/// A fresh 0700 directory under the system temp dir, removed by ``Cleanup``.
func makeTempDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("unibus-bench-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    Cleanup.shared.track(url)
    return url
}

/// TCP ports on 127.0.0.1.
enum FreePort {
    /// A port that was free a moment ago: bind port 0, read the port the kernel chose, close.
    static func next() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A long-lived child of the bench (membershipd or nats-server): UnibusProcess's `ChildProcess`
/// (under setpriv, so it dies with the bench even on SIGKILL) with its stderr kept as lines, and
/// appended to a log file, so a measurement can wait for a line.
final class BenchProcess: Sendable {
    let name: String
    /// Every stderr line is also appended here (kept with `--keep`).
    let logFile: String?
    private let command: Command
    private let lines = Mutex<[String]>([])
    private let running = Mutex<(child: ChildProcess?, exit: ExitStatus?)>((nil, nil))

    init(
        name: String, executable: String, arguments: [String], directory: URL? = nil, environment: [String: String]? = nil,
        logFile: String? = nil
    ) {
        self.name = name
        self.logFile = logFile
        command = Command(executable, arguments, workingDirectory: directory?.path, environment: environment.map { .exactly($0) } ?? .inherit)
    }

    var pid: Int32 { running.withLock { $0.child?.pid ?? 0 } }
    var isRunning: Bool { running.withLock { $0.child.map { !$0.hasExited } ?? false } }

    func start() async throws {
        let log = logFile.flatMap { file -> FileHandle? in
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]) else { return nil }
            return FileHandle(forWritingAtPath: file)
        }
        let child = try await ChildProcess.start(command, stop: .init(signal: SIGTERM, grace: .seconds(15))) { [self] line in
            log?.write(Data((line + "\n").utf8))
            lines.withLock { $0.append(line) }
        }
        running.withLock { $0.child = child }
        Cleanup.shared.track(self)
        // Records the exit status for the synchronous ``stop(signal:grace:)``.
        Task { [self] in
            let status = await child.waitForExit()
            running.withLock { $0.exit = status }
        }
    }

    var lineCount: Int { lines.withLock { $0.count } }
    func count(containing text: String) -> Int { lines.withLock { $0.reduce(0) { $0 + ($1.contains(text) ? 1 : 0) } } }
    func lines(from index: Int) -> [String] { lines.withLock { Array($0[min(index, $0.count)...]) } }
    func tail(_ n: Int = 15) -> String { lines.withLock { $0.suffix(n).joined(separator: "\n") } }

    /// Polls the log until a line at or after `index` contains `text`; returns that line's index.
    func waitForLine(containing text: String, from index: Int = 0, timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        var next = index
        while true {
            let found: Int? = lines.withLock { lines in
                defer { next = lines.count }
                return lines[min(next, lines.count)...].firstIndex { $0.contains(text) }
            }
            if let found { return found }
            if !isRunning || ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Sends `signal` (SIGTERM by default), waits up to `grace` seconds, then SIGKILL. Returns the
    /// exit code (-1 if unknown). Blocks the calling thread: cleanup paths (defer, signal
    /// handlers) are synchronous.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 10) -> Int32 {
        guard let child = running.withLock({ $0.child }) else { return -1 }
        child.send(signal)
        if !waitForExitStatus(seconds: grace) {
            Log.info("\(name) (pid \(child.pid)) did not stop in \(Int(grace)) s: SIGKILL")
            child.send(SIGKILL)
            _ = waitForExitStatus(seconds: 5)
        }
        Cleanup.shared.untrack(self)
        return running.withLock { $0.exit?.code } ?? -1
    }

    private func waitForExitStatus(seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if running.withLock({ $0.exit != nil }) { return true }
            usleep(5_000)
        }
        return false
    }
}

/// Runs a command to completion and returns its status and output.
func runCommand(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try await Command(executable, arguments).output()
    return (result.status.code, result.stdout, result.stderr)
}

/// Runs blocking work on its own thread (never on Swift's two-thread cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// Monotonic nanoseconds.
@inline(__always) func nowNanos() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1e3 }
    var microseconds: Double { seconds * 1e6 }
}
