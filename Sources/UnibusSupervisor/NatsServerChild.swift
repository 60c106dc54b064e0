public import Foundation
public import Logging
public import UnibusCore

/// One run of the nats-server child process: spawned, its stderr drained and parsed, signalled,
/// stopped. `NatsServerService` restarts a new one when it dies.
///
/// The child is started under `setpriv --pdeathsig KILL` (util-linux) from a thread that lives as
/// long as the process, so it dies with membershipd even on SIGKILL; a pid file checked at start
/// catches any survivor of an older run.
public final class NatsServerChild: @unchecked Sendable {
    public let executable: NatsServerExecutable
    public let configFile: String
    private let logger: Logger
    private let forwardAllLogs: Bool
    private let process = Process()
    private let lock = NSLock()
    private var ready = false
    private var lastLine = ""
    private var reloadWaiters: [UInt64: CheckedContinuation<Result<Void, SupervisorError>, Never>] = [:]
    private var nextReloadID: UInt64 = 0
    private var exitWaiters: [CheckedContinuation<Int32, Never>] = []
    private var exitStatus: Int32?

    /// - Parameter forwardAllLogs: forward every server log line (debug mode); otherwise only warnings and errors.
    public init(executable: NatsServerExecutable, configFile: String, logger: Logger, forwardAllLogs: Bool) {
        self.executable = executable
        self.configFile = configFile
        self.logger = logger
        self.forwardAllLogs = forwardAllLogs
    }

    public var pid: Int32 { process.processIdentifier }

    /// Spawns the child.
    public func start() throws {
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable.path, "-c", configFile]
        } else {
            logger.warning("setpriv not found: nats-server may outlive membershipd if membershipd is killed with SIGKILL")
            process.executableURL = URL(fileURLWithPath: executable.path)
            process.arguments = ["-c", configFile]
        }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [self] p in finished(p.terminationStatus) }
        try SpawnThread.shared.run { try self.process.run() }
        let reader = err.fileHandleForReading
        Thread.detachNewThread { [self] in drain(reader) }
    }

    /// Waits until the server logged "Server is ready" (or it exited, or time ran out).
    public func waitUntilReady(timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (isReady, status, line) = lock.withLock { (ready, exitStatus, lastLine) }
            if isReady { return }
            if let status { throw SupervisorError.exited(status: status, lastLog: line) }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw SupervisorError.notReady(seconds: Int(timeout.components.seconds), lastLog: lock.withLock { lastLine })
    }

    /// Sends SIGHUP and waits for the server to confirm ("Reloaded server configuration") or refuse.
    public func reload(timeout: Duration = .seconds(10)) async throws {
        let id = lock.withLock {
            nextReloadID += 1; return nextReloadID
        }
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            let waiter = lock.withLock { reloadWaiters.removeValue(forKey: id) }
            waiter?.resume(returning: .failure(.reloadUnconfirmed(seconds: Int(timeout.components.seconds))))
        }
        defer { timer.cancel() }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Void, SupervisorError>, Never>) in
            let exited: Int32? = lock.withLock {
                if let exitStatus { return exitStatus }
                reloadWaiters[id] = c
                return nil
            }
            if let exited {
                c.resume(returning: .failure(.exited(status: exited, lastLog: lock.withLock { lastLine })))
            } else {
                kill(process.processIdentifier, SIGHUP)
            }
        }
        try result.get()
    }

    /// Asks the server to stop (SIGINT: it exits 0), then SIGKILL after `grace`. Returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32 {
        if let status = lock.withLock({ exitStatus }) { return status }
        // Never spawned: there is nothing to stop (and kill(0, …) would signal our own process group).
        guard process.processIdentifier > 0 else { return -1 }
        kill(process.processIdentifier, SIGINT)
        let killer = Task { [pid = process.processIdentifier] in
            try await Task.sleep(for: grace)
            kill(pid, SIGKILL)
        }
        let status = await waitForExit()
        killer.cancel()
        return status
    }

    /// Waits for the child to exit, for whatever reason.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { c in
            let done: Int32? = lock.withLock {
                if let exitStatus { return exitStatus }
                exitWaiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    private func finished(_ status: Int32) {
        let waiters = lock.withLock {
            exitStatus = status
            defer { exitWaiters = [] }
            return exitWaiters
        }
        resumeReloadWaiters(.failure(.exited(status: status, lastLog: lock.withLock { lastLine })))
        for w in waiters { w.resume(returning: status) }
    }

    private func resumeReloadWaiters(_ result: Result<Void, SupervisorError>) {
        let waiters = lock.withLock {
            defer { reloadWaiters = [:] }
            return reloadWaiters.values
        }
        for w in waiters { w.resume(returning: result) }
    }

    /// Reads stderr line by line until the child closes it; nats-server blocks if the pipe fills.
    private func drain(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 0x0a) {
                consume(line: String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...nl)
            }
        }
    }

    private func consume(line: String) {
        let event = NatsServerLogLine(line)
        lock.withLock {
            lastLine = line
            if event == .ready { ready = true }
        }
        switch event {
        case .reloaded: resumeReloadWaiters(.success(()))
        case .reloadFailed(let reason): resumeReloadWaiters(.failure(.reloadFailed(reason)))
        default: break
        }
        if line.contains("[ERR]") || line.contains("[FTL]") {
            logger.error("nats-server: \(line)")
        } else if line.contains("[WRN]") {
            logger.warning("nats-server: \(line)")
        } else if forwardAllLogs {
            logger.info("nats-server: \(line)")
        }
    }
}

/// What membershipd reads from nats-server's log.
enum NatsServerLogLine: Equatable {
    case ready, reloaded, reloadFailed(String), other

    init(_ line: String) {
        if line.contains("Server is ready") {
            self = .ready
        } else if line.contains("Reloaded server configuration") {
            self = .reloaded
        } else if let r = line.range(of: "Failed to reload server configuration: ") {
            self = .reloadFailed(String(line[r.upperBound...]))
        } else {
            self = .other
        }
    }
}

/// A thread that lives as long as the process and spawns every child: Linux delivers a
/// parent-death signal when the *thread* that forked the child exits, so a short-lived worker
/// thread must never be the one that forks.
public final class SpawnThread: @unchecked Sendable {
    /// The one spawning thread of the process.
    public static let shared = SpawnThread()
    private let lock = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in
            while true {
                lock.lock()
                while jobs.isEmpty { lock.wait() }
                let job = jobs.removeFirst()
                lock.unlock()
                job()
            }
        }
        thread.name = "unibus-spawn"
        thread.start()
    }

    /// Runs `body` (typically `Process.run()`) on the spawning thread and waits for it.
    public func run(_ body: @escaping () throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        lock.lock()
        jobs.append {
            do { try body() } catch { failure = error }
            done.signal()
        }
        lock.signal()
        lock.unlock()
        done.wait()
        if let failure { throw failure }
    }
}
