import CoreFoundation
import Foundation
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
    private var children: [Int32: ChildProcess] = [:]
    private var directories: [URL] = []
    var keepDirectories = false
    private var signalSources: [any DispatchSourceSignal] = []

    func track(_ child: ChildProcess) { lock.withLock { children[child.pid] = child } }
    func untrack(_ child: ChildProcess) { _ = lock.withLock { children.removeValue(forKey: child.pid) } }
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

/// A thread that lives as long as the bench and forks every long-lived child: Linux sends the
/// parent-death signal when the *thread* that forked exits, so a pool thread must never fork.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "unibus-bench-spawn"
        thread.start()
    }

    func run(_ body: @escaping () throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        condition.lock()
        jobs.append {
            do { try body() } catch { failure = error }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        if let failure { throw failure }
    }
}

/// A long-lived child (membershipd or nats-server) under `setpriv --pdeathsig KILL`, so it dies
/// with the bench even on SIGKILL. Its stderr is read line by line (never left to fill the pipe).
final class ChildProcess: @unchecked Sendable {
    let name: String
    private let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private var started = false

    /// Every stderr line is also appended here (kept with `--keep`).
    let logFile: String?
    private var logHandle: FileHandle?

    init(
        name: String, executable: String, arguments: [String], directory: URL? = nil, environment: [String: String]? = nil,
        logFile: String? = nil
    ) {
        self.name = name
        self.logFile = logFile
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func start() throws {
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try SpawnThread.shared.run { try self.process.run() }
        lock.withLock { started = true }
        Cleanup.shared.track(self)
        if let logFile, FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600]) {
            logHandle = FileHandle(forWritingAtPath: logFile)
        }
        let reader = err.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                logHandle?.write(chunk)
                pending.append(chunk)
                while let nl = pending.firstIndex(of: 0x0a) {
                    let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...nl)
                    lock.withLock { lines.append(line) }
                }
            }
        }
    }

    var lineCount: Int { lock.withLock { lines.count } }
    func count(containing text: String) -> Int { lock.withLock { lines.reduce(0) { $0 + ($1.contains(text) ? 1 : 0) } } }
    func lines(from index: Int) -> [String] { lock.withLock { Array(lines[min(index, lines.count)...]) } }
    func tail(_ n: Int = 15) -> String { lock.withLock { lines.suffix(n).joined(separator: "\n") } }

    /// Polls the log until a line at or after `index` contains `text`; returns that line's index.
    func waitForLine(containing text: String, from index: Int = 0, timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        var next = index
        while true {
            let found: Int? = lock.withLock {
                defer { next = lines.count }
                return lines[min(next, lines.count)...].firstIndex { $0.contains(text) }
            }
            if let found { return found }
            if !process.isRunning || ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Sends `signal` (SIGTERM by default), waits up to `grace` seconds, then SIGKILL. Returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 10) -> Int32 {
        guard lock.withLock({ started }) else { return -1 }
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            Log.info("\(name) (pid \(pid)) did not stop in \(Int(grace)) s: SIGKILL")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        Cleanup.shared.untrack(self)
        return process.terminationStatus
    }
}

/// Runs a short command to completion and returns its status and output (membershipd's own runner).
func runCommand(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try Subprocess.run(executable, arguments)
    return (result.status, result.stdout, result.stderr)
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
