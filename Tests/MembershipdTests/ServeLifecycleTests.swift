import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusTestSupport

/// `membershipd serve` as an operator sees it: start, refuse, stop, crash, restart.
@Suite("serve lifecycle and supervision", .serialized)
struct ServeLifecycleTests {
    static func alive(_ pid: Int32) -> Bool {
        // a zombie is dead for our purposes
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    @Test func busAuthOffIsRefusedOffLoopback() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let r = try await CLI.run(["serve", "--bus-auth", "off", "--bind", "0.0.0.0", "--nats-port", "\(FreePort.next())"], cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: --bus-auth off is refused with --bind 0.0.0.0"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files")))
    }

    @Test func unknownBusAuthValueIsRefused() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let r = try await CLI.run(["serve", "--bus-auth", "maybe"], cwd: dir.url)
        #expect(r.status == 1 && r.stderr.contains("'maybe'") && r.stderr.contains("'enforce' and 'off'"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files")))
    }

    @Test func aNonLoopbackBindNeedsTLSFlags() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let r = try await CLI.run(["serve", "--bind", "0.0.0.0", "--nats-port", "\(FreePort.next())"], cwd: dir.url)
        #expect(r.status == 1 && r.stderr.contains("--tls-cert, --tls-key and --tls-ca"), "\(r.stderr)")
    }

    @Test func aWorldReadableInternalIdentityIsRefused() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let id = dir.file("internal.id")
        FileManager.default.createFile(atPath: id, contents: Data(UserKeyPair().nkeySeed.utf8), attributes: [.posixPermissions: 0o644])
        let r = try await CLI.run(
            ["serve", "--internal-id-file", id, "--nats-port", "\(FreePort.next())", "--nats-server", NatsServerBinaries.debian], cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(id) is readable by group or others (mode 644); run: chmod 600 \(id)"), "\(r.stderr)")
    }

    @Test func aWorldReadableTLSKeyIsRefused() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await Self.certificates(in: dir)
        chmod("\(tls)/server.key", 0o644)
        let r = try await CLI.run(
            [
                "serve", "--tls-cert", "\(tls)/server.crt", "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/ca.crt",
                "--nats-port", "\(FreePort.next())",
            ], cwd: dir.url)
        #expect(r.status == 1 && r.stderr.contains("run: chmod 600 \(tls)/server.key"), "\(r.stderr)")
    }

    static func certificates(in dir: TempDirectory) async throws -> String {
        let out = dir.file("tls")
        try await Command(ServeFixture.repoRoot.appendingPathComponent("tls/generate-certs.sh").path, ["--out", out]).succeed()
        return out
    }

    @Test("SIGTERM stops membershipd and nats-server cleanly (exit 0)", arguments: NatsServerBinaries.all)
    func sigtermStopsBoth(_ natsServer: String) async throws {
        let serve = try await ServeFixture(natsServer: natsServer)
        try await serve.waitUntilReady()
        let child = try #require(serve.childPID)
        #expect(Self.alive(child))
        #expect(await serve.stop() == 0, "\(serve.log)")
        #expect(await eventually { !Self.alive(child) })
        #expect(serve.log.contains("nats-server stopped"))
    }

    @Test("if membershipd is SIGKILLed its nats-server does not outlive it")
    func sigkillTakesTheChildAlong() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
        try await serve.waitUntilReady()
        let child = try #require(serve.childPID)
        serve.child.send(SIGKILL)
        _ = await serve.child.waitForExit()
        #expect(await eventually(timeout: .seconds(3)) { !Self.alive(child) }, "nats-server \(child) outlived membershipd")
        #expect(await eventually(timeout: .seconds(3)) { !FreePort.accepts(serve.natsPort) })
    }

    @Test("a nats-server that dies is restarted and clients can connect again")
    func deadServerIsRestarted() async throws {
        let w = try await DataPlaneTests.World(NatsServerBinaries.debian)
        let first = try #require(w.serve.childPID)
        kill(first, SIGKILL)
        #expect(await eventually(timeout: .seconds(10)) { w.serve.log.contains("exited unexpectedly") })
        #expect(await eventually(timeout: .seconds(10)) { w.serve.count("ready (pid") >= 2 }, "\(w.serve.log)")
        #expect(w.serve.childPID != first)
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        await bob.close()
        // and the restarted server still enforces the ACL: a revoke still closes connections
        let ana = try await w.serve.connect(w.ana, handle: "ana")
        let events = AsyncRecorder(ana.events)
        #expect(try await CLI.run(["user", "revoke", "ana", "--db", w.serve.db]).status == 0)
        #expect(await events.contains(within: .seconds(10)) { $0 == .closed || $0 == .disconnected })
    }

    @Test("a config nats-server refuses to reload is not applied; the last good ACL stays and the failure is logged")
    func failedCheckKeepsLastGoodConfig() async throws {
        let w = try await DataPlaneTests.World(NatsServerBinaries.debian)
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let conf = w.serve.dir.file("local_files/nats-server.conf")
        let good = try String(contentsOfFile: conf, encoding: .utf8)
        // Break the next render: the server certificate it names disappears.
        let cert = "\(w.serve.tls)/server.crt"
        try FileManager.default.moveItem(atPath: cert, toPath: cert + ".away")
        // the CLI waits for the node, which cannot apply it: the change stays stored, exit 1 says so
        let cat = Fixture.keyPair(3)
        let add = try await CLI.run(["user", "add", "--handle", "cat", "--sign-pub", cat.signPub.hex, "--role", "member", "--db", w.serve.db])
        #expect(add.status == 1 && add.stderr.contains("the change is stored but applied on only 0/1 nodes"), "\(add.stderr)")
        #expect(w.serve.log.contains("ACL change not applied"), "\(w.serve.log)")
        #expect(try String(contentsOfFile: conf, encoding: .utf8) == good)
        #expect(!FileManager.default.fileExists(atPath: conf + ".next"))
        try await bob.flush()
        #expect(!bob.isClosed)
        // Repair; the next change applies everything pending.
        try FileManager.default.moveItem(atPath: cert + ".away", toPath: cert)
        _ = try await w.serve.addUser("dan", 4)
        try await w.waitForACL(containing: cat.nkey, Fixture.keyPair(4).nkey)
        await (try await w.serve.connect(cat, handle: "cat")).close()
        await bob.close()
    }

    @Test("generated config is 0600 and names only loopback monitoring")
    func generatedConfigIsPrivate() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
        try await serve.waitUntilReady()
        let conf = serve.dir.file("local_files/nats-server.conf")
        #expect(try FileManager.default.attributesOfItem(atPath: conf)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: serve.dir.file("local_files/internal.id"))[.posixPermissions] as? Int == 0o600)
        #expect(!(try String(contentsOfFile: conf, encoding: .utf8)).contains("http:"))
        let seed = try String(contentsOfFile: serve.dir.file("local_files/internal.id"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(seed.hasPrefix("SU") && !serve.log.contains(seed), "the internal identity's seed reached the log")
        #expect(!serve.log.contains(String(seed.dropFirst(2).prefix(20))))
    }
}
