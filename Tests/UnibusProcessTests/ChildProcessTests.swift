import Foundation
import Synchronization
import Testing
import UnibusProcess

@Suite("ChildProcess: a long-running child with a teardown", .serialized)
struct ChildProcessTests {
    /// Lines a child printed, in order.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        @Sendable func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Polls until `condition` holds or `timeout` passes.
    func eventually(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func deliversStdoutAndStderrLinesInOrder() async throws {
        let out = Lines(), err = Lines()
        let child = try await ChildProcess.start(
            Command("/bin/sh", ["-c", "echo a; echo b >&2; echo c; echo d >&2"]), stop: .init(signal: SIGTERM, grace: .seconds(1)),
            onOutputLine: out.append, onLine: err.append)
        #expect(await child.waitForExit() == .exited(0))
        #expect(out.all == ["a", "c"])
        #expect(err.all == ["b", "d"])
    }

    @Test func stopSendsTheStopSignalAndReturnsHowItEnded() async throws {
        let err = Lines()
        let script = "trap 'echo bye >&2; exit 0' INT; echo ready >&2; while :; do sleep 0.05; done"
        let child = try await ChildProcess.start(
            Command("/bin/sh", ["-c", script]), stop: .init(signal: SIGINT, grace: .seconds(5)), onLine: err.append)
        #expect(await eventually { err.all.contains("ready") })
        let started = ContinuousClock.now
        #expect(await child.stop() == .exited(0))
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(err.all.last == "bye")
        #expect(child.hasExited)
    }

    @Test func aChildThatIgnoresTheStopSignalIsKilledAfterTheGrace() async throws {
        let err = Lines()
        let child = try await ChildProcess.start(
            Command("/bin/sh", ["-c", "trap '' TERM; echo ready >&2; while :; do sleep 0.05; done"]),
            stop: .init(signal: SIGTERM, grace: .milliseconds(300)), onLine: err.append)
        #expect(await eventually { err.all.contains("ready") })
        let started = ContinuousClock.now
        #expect(await child.stop() == .signalled(SIGKILL))
        #expect(ContinuousClock.now - started >= .milliseconds(300))
    }

    @Test func requestStopFromSynchronousCodeEndsTheChild() async throws {
        let child = try await ChildProcess.start(Command("/bin/sleep", ["30"]), stop: .init(signal: SIGTERM, grace: .seconds(2)))
        child.requestStop()
        #expect(await child.waitForExit() == .signalled(SIGTERM))
        child.send(SIGKILL)  // after the exit: a no-op, never a signal to a reused pid
    }

    @Test func aChildThatCannotStartIsAThrownError() async throws {
        await #expect(throws: ProcessError.self) {
            _ = try await ChildProcess.start(Command("/nonexistent/daemon"), stop: .init(signal: SIGTERM, grace: .seconds(1)))
        }
    }
    // That a child dies with its parent even on SIGKILL (setpriv --pdeathsig) is proven end to
    // end by ServeLifecycleTests: membershipd killed with SIGKILL takes its nats-server with it.
}
