import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusStoreSQLite
import UnibusTestSupport

/// `membershipd serve` with real nats-server processes (Debian's 2.9.10 and PyPI's newer one),
/// real TLS material made by serve itself, and real connections through nats.c.
@Suite("data plane: nkey + client TLS + room ACLs", .serialized)
struct DataPlaneTests {
    /// ana (admin) in rooms general and ops; bob (member) in general only.
    struct World {
        let serve: ServeFixture
        let ana: UserKeyPair
        let bob: UserKeyPair

        init(_ natsServer: String) async throws {
            serve = try await ServeFixture(natsServer: natsServer)
            try await serve.waitUntilReady()
            ana = try await serve.addUser("ana", 1, role: .admin)
            bob = try await serve.addUser("bob", 2)
            let store = try serve.store()
            let anaUser = try #require(try await store.user(ana.signPub))
            try await store.createRoom(Fixture.room("general", by: anaUser))
            try await store.createRoom(Fixture.room("ops", by: anaUser))
            try await store.putMember(Member(room: RoomID("general"), signPub: bob.signPub, role: .member, addedAt: Date()))
            try await waitForACL(containing: bob.nkey, "unibus.room.general")
        }

        /// Waits until the live config names `needles` (the ACL reload went through).
        func waitForACL(containing needles: String..., absent: Bool = false) async throws {
            let path = serve.dir.file("local_files/nats-server.conf")
            let ok = await eventually(timeout: .seconds(10)) {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return needles.allSatisfy { text.contains($0) != absent }
            }
            guard ok else { throw FixtureFailure("ACL never reflected \(needles):\n\(serve.log)") }
            // the file is moved into place before SIGHUP; wait for the server's confirmation too
            let reloads = serve.count("ACL reloaded")
            _ = await eventually(timeout: .milliseconds(500)) { serve.count("ACL reloaded") > reloads }
        }
    }

    @Test("a member pub/subs its room and request/reply works through its inbox", arguments: NatsServerBinaries.all)
    func memberUsesItsRoom(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        let ana = try await w.serve.connect(w.ana, handle: "ana")
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let anaSub = try await Self.record(ana, "unibus.room.general.>")
        try await ana.flush()
        try await bob.publish("unibus.room.general.chat", payload: Array("hi".utf8))
        #expect(await anaSub.contains { $0.string == "hi" })

        // request/reply: bob asks on the room, ana answers into bob's inbox (`_INBOX.*.>`)
        let service = try await ana.subscribe("unibus.room.general")
        let serving = Task {
            for await request in service.messages {
                if let reply = request.reply { try? await ana.publish(reply, payload: Array("pong".utf8)) }
            }
        }
        defer { serving.cancel() }
        try await ana.flush()
        let reply = try await bob.request("unibus.room.general", payload: Array("ping".utf8), timeout: .seconds(3))
        #expect(reply.string == "pong")
        await ana.close()
        await bob.close()
    }

    @Test("anything outside the user's rooms and inbox is a permissions violation", arguments: NatsServerBinaries.all)
    func outsideSubjectsAreRefused(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let events = AsyncRecorder(bob.events)
        for subject in ["unibus.room.ops", "unibus.room.ops.x", "$JS.API.INFO", "$SYS.REQ.SERVER.PING", "_INBOX", "unibus.room"] {
            try await bob.publish(subject, payload: [1])
        }
        for subject in ["unibus.room.ops", "$JS.API.>", "$SYS.>", "_INBOX.ana.>", ">"] {
            _ = try await bob.subscribe(subject)
        }
        try? await bob.flush()
        for subject in ["unibus.room.ops", "unibus.room.ops.x", "$JS.API.INFO", "$SYS.REQ.SERVER.PING", "_INBOX"] {
            #expect(await events.contains { Self.violation($0, "Publish", subject) }, "publish to \(subject) was not refused")
        }
        for subject in ["unibus.room.ops", "$JS.API.>", "$SYS.>", "_INBOX.ana.>", ">"] {
            #expect(await events.contains { Self.violation($0, "Subscription", subject) }, "subscribe to \(subject) was not refused")
        }
        await bob.close()
    }

    /// Subscribes and records the messages (the subscription lives as long as the recorder).
    static func record(_ connection: NatsConnection, _ subject: String) async throws -> AsyncRecorder<NatsMessage> {
        let subscription = try await connection.subscribe(subject)
        return AsyncRecorder(subscription.messages, keeping: subscription)
    }

    static func violation(_ event: NatsConnectionEvent, _ kind: String, _ subject: String) -> Bool {
        guard case .error(let e) = event else { return false }
        return e.isNotPermitted && e.detail.contains("Permissions Violation for \(kind) to \"\(subject)\"")
    }

    @Test("refused: no client certificate, a certificate from another CA, an unknown nkey", arguments: NatsServerBinaries.all)
    func badCredentialsAreRefused(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        // no client certificate
        await #expect(throws: NatsError.self) { _ = try await NatsConnection.connect(w.serve.options(w.bob, handle: "bob", cert: "none")) }
        // a certificate from another CA
        let other = TempDirectory("unibus-test-other-ca")
        let script = ServeFixture.repoRoot.appendingPathComponent("tls/generate-certs.sh").path
        try await Command(script, ["--out", other.path]).succeed()
        var foreign = try w.serve.options(w.bob, handle: "bob")
        foreign.tls = NatsTLSFiles(caFile: "\(w.serve.tls)/ca.crt", certFile: "\(other.path)/client.crt", keyFile: "\(other.path)/client.key")
        await #expect(throws: NatsError.self) { _ = try await NatsConnection.connect(foreign) }
        // an unknown nkey with a valid certificate
        let error = await #expect(throws: NatsError.self) {
            _ = try await NatsConnection.connect(w.serve.options(Fixture.keyPair(77), handle: "eve"))
        }
        #expect(error?.isAuthFailed == true)
        // and the valid combination still works
        await (try await w.serve.connect(w.bob, handle: "bob")).close()
    }

    @Test("revocation by the CLI in another process closes the live connection", arguments: NatsServerBinaries.all)
    func revocationClosesLiveConnection(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let events = AsyncRecorder(bob.events)
        let ana = try await w.serve.connect(w.ana, handle: "ana")
        let start = ContinuousClock.now
        let r = try await CLI.run(["user", "revoke", "bob", "--db", w.serve.db])
        #expect(r.status == 0)
        #expect(await events.contains(within: .seconds(10)) { $0 == .closed || $0 == .disconnected }, "\(w.serve.log)")
        let elapsed = ContinuousClock.now - start
        #expect(bob.isClosed)
        // a revoked key cannot connect again
        let error = await #expect(throws: NatsError.self) { _ = try await w.serve.connect(w.bob, handle: "bob") }
        #expect(error?.isAuthFailed == true)
        // nobody else was disconnected
        try await ana.flush()
        #expect(!ana.isClosed)
        await ana.close()
        print("revoke -> closed via CLI in \(elapsed); events: \(events.items)")
    }

    @Test("removing a member withdraws the room on the live connection, other rooms stay", arguments: NatsServerBinaries.all)
    func removingAMemberWithdrawsTheRoom(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        let store = try w.serve.store()
        try await store.putMember(Member(room: RoomID("ops"), signPub: w.bob.signPub, role: .member, addedAt: Date()))
        try await w.waitForACL(
            containing: "subscribe: { allow: [\"_INBOX.bob.>\", \"unibus.room.general\", \"unibus.room.general.>\", \"unibus.room.ops\"")
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let ana = try await w.serve.connect(w.ana, handle: "ana")
        let events = AsyncRecorder(bob.events)
        let general = try await Self.record(bob, "unibus.room.general")
        let ops = try await Self.record(bob, "unibus.room.ops")
        try await bob.flush()
        try await ana.publish("unibus.room.ops", payload: Array("before".utf8))
        #expect(await ops.contains { $0.string == "before" })

        try await store.removeMember(room: RoomID("ops"), signPub: w.bob.signPub)
        #expect(await events.contains(within: .seconds(10)) { Self.violation($0, "Subscription", "unibus.room.ops") })
        try await ana.publish("unibus.room.ops", payload: Array("after".utf8))
        try await ana.publish("unibus.room.general", payload: Array("still here".utf8))
        #expect(await general.contains { $0.string == "still here" })
        #expect(!ops.items.contains { $0.string == "after" })
        try await bob.publish("unibus.room.ops", payload: [1])
        #expect(await events.contains { Self.violation($0, "Publish", "unibus.room.ops") })
        #expect(!bob.isClosed)
        await bob.close()
        await ana.close()
    }

    @Test("a reload with an unchanged allowlist disconnects nobody", arguments: NatsServerBinaries.all)
    func unchangedReloadKeepsEveryone(_ natsServer: String) async throws {
        let w = try await World(natsServer)
        let bob = try await w.serve.connect(w.bob, handle: "bob")
        let events = AsyncRecorder(bob.events)
        let sub = try await Self.record(bob, "unibus.room.general")
        try await bob.flush()
        // A change that does not touch the ACL (a nonce) is rendered, found identical, and skipped.
        let reloads = w.serve.count("ACL reloaded")
        _ = try await w.serve.store().consumeNonce(try NonceValue("nonce-0123456789abcdef"), expiresAt: Date() + 300, now: Date())
        // A forced reload of the same config (SIGHUP straight to nats-server) keeps everyone too.
        let pid = try #require(w.serve.childPID)
        kill(pid, SIGHUP)
        // Another user's change reloads for real; bob is untouched.
        _ = try await w.serve.addUser("cat", 3)
        try await w.waitForACL(containing: Fixture.keyPair(3).nkey)
        try await Task.sleep(for: .milliseconds(200))
        #expect(w.serve.count("ACL reloaded") == reloads + 1)
        let ana = try await w.serve.connect(w.ana, handle: "ana")
        try await ana.publish("unibus.room.general", payload: Array("x".utf8))
        #expect(await sub.contains { $0.string == "x" })
        #expect(!events.items.contains { $0 == .disconnected || $0 == .closed })
        #expect(!bob.isClosed)
        await ana.close()
        await bob.close()
    }

    @Test("user add returns once the change is in force: 20 of 20 clients connect right after it, with no retry")
    func addThenConnectAtOnce() async throws {
        let w = try await World(NatsServerBinaries.debian)
        for i in 0..<20 {
            let pair = Fixture.keyPair(500 + i)
            let add = try await CLI.run([
                "user", "add", "--handle", "now\(i)", "--sign-pub", pair.signPub.hex, "--role", "member", "--db", w.serve.db,
            ])
            #expect(add.status == 0 && add.stdout.contains("applied on 1/1 node in "), "\(add.stdout)\(add.stderr)")
            let c = try await w.serve.connect(pair, handle: "now\(i)")
            await c.close()
        }
        // with no node serving the file, the change is stored and the command says so
        let dir = TempDirectory("cli")
        let offline = try await CLI.run([
            "user", "add", "--handle", "solo", "--sign-pub", Fixture.keyPair(600).signPub.hex, "--role", "member", "--db", dir.file("u.db"),
        ])
        #expect(offline.status == 0 && offline.stdout.contains("no node is serving this store"), "\(offline.stdout)")
    }

    @Test("user import: one transaction, one reload, every user can connect when it returns")
    func importIsOneChange() async throws {
        let w = try await World(NatsServerBinaries.debian)
        let file = w.serve.dir.file("import.jsonl")
        let lines = (0..<300).map { #"{"handle":"agent\#($0)","sign_pub":"\#(Fixture.keyPair(2000 + $0).signPub.hex)","role":"member"}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let before = w.serve.count("ACL reloaded")
        let run = try await CLI.run(["user", "import", "--file", file, "--db", w.serve.db])
        #expect(run.status == 0 && run.stdout.contains("imported 300 users (0 already present)"), "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("applied on 1/1 node"))
        #expect(w.serve.count("ACL reloaded") == before + 1, "\(w.serve.log.suffix(2000))")
        await (try await w.serve.connect(Fixture.keyPair(2299), handle: "agent299")).close()
        // a re-run changes nothing and reloads nothing
        let again = try await CLI.run(["user", "import", "--file", file, "--db", w.serve.db])
        #expect(again.status == 0 && again.stdout.contains("imported 0 users (300 already present)"), "\(again.stdout)")
        #expect(w.serve.count("ACL reloaded") == before + 1)
    }

    @Test("a burst of 1,000 user adds costs few reloads and the last one is applied")
    func burstsCoalesce() async throws {
        let w = try await World(NatsServerBinaries.debian)
        let store = try w.serve.store()
        let before = w.serve.count("ACL reloaded")
        for i in 0..<1000 { try await store.addUser(Fixture.user("burst\(i)", 1000 + i)) }
        let last = Fixture.keyPair(1999)
        try await w.waitForACL(containing: last.nkey)
        let reloads = w.serve.count("ACL reloaded") - before
        #expect(reloads >= 1 && reloads < 100, "\(reloads) reloads for 1,000 adds")
        let c = try await w.serve.connect(last, handle: "burst999")
        await c.close()
        print("1,000 adds -> \(reloads) reloads")
    }
}

extension ServeFixture {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
