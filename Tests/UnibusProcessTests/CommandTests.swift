import Testing
import UnibusProcess

@Suite("Command: a process run to completion")
struct CommandTests {
    @Test func collectsBothOutputsAndTheExitCode() async throws {
        let result = try await Command("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]).output()
        #expect(result.status == .exited(3))
        #expect(!result.succeeded)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
        #expect(result.lastLine == "out")
    }

    @Test func feedsInputToStdin() async throws {
        let result = try await Command("/bin/cat").output(input: "line one\nline two\n")
        #expect(result.succeeded)
        #expect(result.stdout == "line one\nline two\n")
    }

    @Test func readsBothPipesAtOnceSoALoudChildNeverBlocks() async throws {
        // 1 MiB to each pipe: far beyond a pipe's 64 KiB buffer.
        let script = "head -c 1048576 /dev/zero | tr '\\\\0' a; head -c 1048576 /dev/zero | tr '\\\\0' b >&2"
        let result = try await Command("/bin/sh", ["-c", script]).output()
        #expect(result.stdout.utf8.count == 1 << 20)
        #expect(result.stderr.utf8.count == 1 << 20)
    }

    @Test func runsInTheGivenDirectoryWithTheGivenEnvironment() async throws {
        let result = try await Command(
            "/bin/sh", ["-c", "pwd; echo \"${UNIBUS_A-unset} ${UNIBUS_B-unset}\""], workingDirectory: "/tmp",
            environment: .exactly(["UNIBUS_A": "a"])
        ).output()
        #expect(result.stdout == "/tmp\na unset\n")
    }

    @Test func aMissingExecutableIsAnErrorNamingIt() async throws {
        let error = await #expect(throws: ProcessError.self) { try await Command("/nonexistent/tool", ["x"]).output() }
        #expect(error?.description.hasPrefix("could not run /nonexistent/tool x:") == true, "\(String(describing: error))")
    }

    @Test func aSignalIsReportedAsSuch() async throws {
        let result = try await Command("/bin/sh", ["-c", "kill -KILL $$"]).output()
        #expect(result.status == .signalled(9))
        #expect(result.status.code == 137)
    }
}
