import Foundation
internal import Subprocess
import Synchronization

/// A long-running child (nats-server, or membershipd in tests and the bench): started, both its
/// outputs read line by line (a full pipe would block it), signalled, and stopped with a teardown:
/// the stop signal, a grace period, then SIGKILL. Its exit is recorded once it has exited and its
/// outputs are closed (a grandchild that keeps them open delays that).
///
/// It runs under `setpriv --pdeathsig KILL` (util-linux) when that exists, so it dies with this
/// process even on SIGKILL. Linux sends the parent-death signal when the *thread* that forked
/// the child exits; swift-subprocess forks every child from one worker thread that lives as long
/// as the process, so the signal comes only when the process ends.
///
/// ```swift
/// let child = try await ChildProcess.start(Command(natsServer, ["-c", file]),
///                                          stop: .init(signal: SIGINT, grace: .seconds(10))) { line in print(line) }
/// let status = await child.stop()
/// ```
public final class ChildProcess: Sendable {
    /// How a child is asked to stop.
    public struct Teardown: Sendable {
        /// The signal that asks it to stop (nats-server exits 0 on SIGINT, membershipd on SIGTERM).
        public var signal: Int32
        /// How long it may take before SIGKILL.
        public var grace: Duration

        /// - Parameters:
        ///   - signal: the polite signal.
        ///   - grace: the time allowed before SIGKILL.
        public init(signal: Int32, grace: Duration) {
            self.signal = signal
            self.grace = grace
        }
    }

    /// The command as given (without the `setpriv` prefix).
    public let command: Command
    /// The child's process id.
    public let pid: Int32
    private let teardown: Teardown
    private let state: ChildState
    private let stopRequests: AsyncStream<Void>.Continuation
    private let runner: Task<ExitStatus, Never>

    private init(
        command: Command, pid: Int32, teardown: Teardown, state: ChildState, stopRequests: AsyncStream<Void>.Continuation,
        runner: Task<ExitStatus, Never>
    ) {
        self.command = command
        self.pid = pid
        self.teardown = teardown
        self.state = state
        self.stopRequests = stopRequests
        self.runner = runner
    }

    /// Starts `command` with stdin on /dev/null. Both outputs are read to their end (a full pipe
    /// would block the child), line by line.
    /// - Parameters:
    ///   - command: what to run.
    ///   - stop: how ``stop()`` and ``requestStop()`` end it.
    ///   - onOutputLine: called with each line of stdout, in order, from a task of this child.
    ///   - onLine: called with each line of stderr, in order, from a task of this child.
    /// - Returns: once the child is running (it may still fail right after).
    /// - Throws: `ProcessError` if it could not be started.
    public static func start(
        _ command: Command, stop: Teardown, onOutputLine: @escaping @Sendable (String) -> Void = { _ in },
        onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(ProcessError) -> ChildProcess {
        // setpriv would start and then fail to exec: say it here, as a direct spawn would.
        guard FileManager.default.isExecutableFile(atPath: command.executable) else {
            throw ProcessError(command: command.description, reason: "not found or not executable")
        }
        let launched = launchCommand(for: command)
        let state = ChildState()
        let (requests, requestsContinuation) = AsyncStream<Void>.makeStream()
        let (starts, startsContinuation) = AsyncStream<Result<Int32, ProcessError>>.makeStream()
        let runner = Task<ExitStatus, Never> {
            await withTaskGroup(of: ExitStatus?.self) { group in
                group.addTask {
                    let status = await run(
                        launched, as: command.description, state: state, started: startsContinuation, onOutputLine: onOutputLine,
                        onLine: onLine)
                    state.markExited()
                    requestsContinuation.finish()
                    return status
                }
                group.addTask {
                    // The escalation: SIGKILL once a stop request's grace period has run out.
                    var iterator = requests.makeAsyncIterator()
                    guard await iterator.next() != nil else { return nil }
                    try? await Task.sleep(for: stop.grace)
                    if !Task.isCancelled { state.send(SIGKILL) }
                    return nil
                }
                var status: ExitStatus?
                while let next = await group.next() {
                    if let next {
                        status = next
                        group.cancelAll()
                    }
                }
                return status ?? .signalled(SIGKILL)
            }
        }
        var iterator = starts.makeAsyncIterator()
        switch await iterator.next() {
        case .success(let pid):
            return ChildProcess(command: command, pid: pid, teardown: stop, state: state, stopRequests: requestsContinuation, runner: runner)
        case .failure(let error):
            requestsContinuation.finish()
            _ = await runner.value
            throw error
        case nil:
            throw ProcessError(command: command.description, reason: "it ended before it started")
        }
    }

    /// Whether the child has exited (and been reaped).
    public var hasExited: Bool { state.hasExited }

    /// Sends `signal` (e.g. SIGHUP) unless the child has exited.
    public func send(_ signal: Int32) { state.send(signal) }

    /// Starts the teardown without waiting: the stop signal now, SIGKILL after the grace period.
    /// Safe to call from a synchronous handler (graceful shutdown, cancellation); idempotent.
    public func requestStop() {
        send(teardown.signal)
        stopRequests.yield()
    }

    /// Stops the child (the teardown) and returns how it ended; at once if it already had.
    @discardableResult
    public func stop() async -> ExitStatus {
        requestStop()
        return await waitForExit()
    }

    /// Waits for the child to exit, for whatever reason.
    public func waitForExit() async -> ExitStatus { await runner.value }
}

/// The child's pid and whether it has exited, shared by its tasks.
final class ChildState: Sendable {
    private let value = Mutex<(pid: Int32?, exited: Bool)>((nil, false))

    func started(_ pid: Int32) { value.withLock { $0.pid = pid } }
    func markExited() { value.withLock { $0.exited = true } }
    var hasExited: Bool { value.withLock { $0.exited } }

    /// `kill(2)` while the child runs; never after it was reaped (its pid may be reused by then).
    func send(_ signal: Int32) {
        value.withLock { state in
            if let pid = state.pid, !state.exited { _ = kill(pid, signal) }
        }
    }
}

extension ChildProcess {
    /// The command with `setpriv --pdeathsig KILL --` in front when util-linux has it.
    static func launchCommand(for command: Command) -> Command {
        guard let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return command }
        var launched = command
        launched.executable = setpriv
        launched.arguments = ["--pdeathsig", "KILL", "--", command.executable] + command.arguments
        return launched
    }

    /// Runs the child to its end, reporting its pid (or why it did not start) once.
    static func run(
        _ launched: Command, as name: String, state: ChildState, started: AsyncStream<Result<Int32, ProcessError>>.Continuation,
        onOutputLine: @escaping @Sendable (String) -> Void, onLine: @escaping @Sendable (String) -> Void
    ) async -> ExitStatus? {
        do {
            let result = try await Subprocess.run(launched.configuration, input: .none, output: .sequence, error: .sequence) {
                execution in
                state.started(execution.processIdentifier.value)
                started.yield(.success(execution.processIdentifier.value))
                started.finish()
                // A read error ends that output, not the child: it is waited for all the same.
                async let output: Void = {
                    do { for try await line in execution.standardOutput.strings(bufferingPolicy: .unbounded) { onOutputLine(line) } } catch {}
                }()
                do { for try await line in execution.standardError.strings(bufferingPolicy: .unbounded) { onLine(line) } } catch {}
                await output
            }
            return ExitStatus(result.terminationStatus)
        } catch let error as SubprocessError {
            started.yield(.failure(ProcessError(command: name, reason: error.operatorText)))
        } catch {
            started.yield(.failure(ProcessError(command: name, reason: "\(error)")))
        }
        started.finish()
        return nil
    }
}
