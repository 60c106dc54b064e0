import Foundation
import Testing
import UnibusNats
import UnibusTestSupport

/// Each test starts its own nats-server (TLS with client certificates, nkey users) and stops it.
@Suite(.serialized)
struct NatsConnectionTests {
    @Test func publishAndSubscribeRoundTripOverMutualTLSWithNKey() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        #expect(connection.status == .connected)
        let subscription = try await connection.subscribe("greet.*")
        let received = AsyncRecorder(subscription.messages)
        try await connection.flush()

        try await connection.publish("greet.ana", payload: Array("hello".utf8))
        try await connection.publish("greet.bo", payload: Data([0, 1, 2]), reply: "greet.replies")

        let messages = try await received.count(2)
        #expect(messages[0] == NatsMessage(subject: "greet.ana", payload: Data("hello".utf8)))
        #expect(messages[1] == NatsMessage(subject: "greet.bo", reply: "greet.replies", payload: Data([0, 1, 2])))
        #expect(messages[0].string == "hello")
        await connection.close()
    }

    @Test func requestGetsTheResponderReply() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let responder = try await env.connect(env.admin)
        let requester = try await env.connect(env.admin)
        let service = try await responder.subscribe("svc.upper", queue: "workers")
        let serving = Task {
            for await request in service.messages {
                guard let reply = request.reply else { continue }
                try await responder.publish(reply, payload: Data((request.string ?? "").uppercased().utf8))
            }
        }
        defer { serving.cancel() }
        try await responder.flush()

        let reply = try await requester.request("svc.upper", payload: Array("ping".utf8), timeout: .seconds(2))
        #expect(reply.string == "PING")
        await requester.close()
        await responder.close()
    }

    @Test func requestWithoutRespondersFailsWithNoResponders() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        let error = await #expect(throws: NatsError.self) {
            _ = try await connection.request("svc.nobody", payload: [], timeout: .seconds(2))
        }
        #expect(error?.isNoResponders == true)
        #expect(error?.description.contains("request on svc.nobody") == true)
        await connection.close()
    }

    @Test func limitedUserRequestsThroughItsCustomInboxPrefix() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let responder = try await env.connect(env.admin)
        let echo = try await responder.subscribe("allowed.echo")
        let serving = Task {
            for await request in echo.messages {
                if let reply = request.reply { try await responder.publish(reply, payload: request.payload) }
            }
        }
        defer { serving.cancel() }
        try await responder.flush()
        let limited = try await env.connect(env.limited) { $0.customInboxPrefix = "_INBOX.limited" }

        // Generous: suites run in parallel on a 2-core CI machine (2 s was seen to time out there).
        let reply = try await limited.request("allowed.echo", payload: Array("hi".utf8), timeout: .seconds(10))
        #expect(reply.string == "hi")
        await limited.close()
        await responder.close()
    }

    @Test(arguments: [NatsTestEnvironment.ClientCertificate.none, .foreign])
    func connectWithoutATrustedClientCertificateFails(_ certificate: NatsTestEnvironment.ClientCertificate)
        async throws
    {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let error = await #expect(throws: NatsError.self) {
            _ = try await NatsConnection.connect(env.options(user: env.admin, certificate: certificate))
        }
        #expect(error?.operation == "connect to \(env.server.url)")
        #expect(error?.isAuthFailed == false)
    }

    @Test func connectWithUnknownNKeyFailsWithAuthFailed() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let stranger = try TestNKey.random()
        let error = await #expect(throws: NatsError.self) {
            _ = try await NatsConnection.connect(env.options(user: stranger))
        }
        #expect(error?.isAuthFailed == true)
        #expect(error?.description == "connect to \(env.server.url): Authorization Violation (natsStatus 11)")
    }

    @Test func publishPermissionViolationArrivesOnEvents() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.limited)
        let events = AsyncRecorder(connection.events)

        try await connection.publish("forbidden.x", payload: [1])  // returns OK: refusal is asynchronous
        let event = try await events.first(within: .seconds(5), "permission error") {
            if case .error(let error) = $0 { error.isNotPermitted } else { false }
        }
        guard case .error(let error) = event else { return }
        #expect(error.detail.contains("Permissions Violation for Publish to \"forbidden.x\""))
        #expect(connection.lastError?.isNotPermitted == true)
        #expect(connection.status == .connected)
        await connection.close()
    }

    @Test func subscribePermissionViolationArrivesOnEvents() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.limited)
        let events = AsyncRecorder(connection.events)

        let subscription = try await connection.subscribe("forbidden.feed")
        let event = try await events.first(within: .seconds(5), "permission error") {
            if case .error(let error) = $0 { error.isNotPermitted } else { false }
        }
        guard case .error(let error) = event else { return }
        #expect(error.detail.contains("Permissions Violation for Subscription to \"forbidden.feed\""))
        try await subscription.drain()
        await connection.close()
    }

    @Test func drainDeliversBufferedMessagesThenCloses() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        let events = AsyncRecorder(connection.events)
        let subscription = try await connection.subscribe("work.items")
        let received = AsyncRecorder(subscription.messages)
        try await connection.flush()
        for index in 0..<200 { try await connection.publish("work.items", payload: Array("\(index)".utf8)) }

        try await connection.drain()

        #expect(connection.isClosed)
        try await received.finished()
        #expect(received.items.map(\.string) == (0..<200).map { "\($0)" })
        try await events.finished()
        #expect(events.items.last == .closed)
        let error = await #expect(throws: NatsError.self) {
            try await connection.publish("work.items", payload: [])
        }
        #expect(error?.isConnectionClosed == true)
        try await subscription.drain()  // connection already closed: nothing to do, no error
        try await connection.drain()  // idempotent
    }

    @Test func closeIsIdempotentAndEndsTheStreams() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        let events = AsyncRecorder(connection.events)
        let subscription = try await connection.subscribe("anything")
        let received = AsyncRecorder(subscription.messages)

        await connection.close()
        await connection.close()

        #expect(connection.status == .closed)
        try await received.finished()
        try await events.finished()
        #expect(events.items.filter { $0 == .closed }.count == 1)
        let error = await #expect(throws: NatsError.self) { try await connection.flush() }
        #expect(error?.isConnectionClosed == true)
    }

    /// Regression test for nats.c 3.4.1's read-loop crash when a message arrives for a
    /// subscription being destroyed (fixed upstream in 3.6.1); NatsSubscription drains first.
    /// With drain replaced by a plain destroy this test aborted the process in most runs
    /// (SIGABRT/SIGSEGV); 20 subscriptions per round multiply the messages the read loop handles.
    @Test func unsubscribingWhileMessagesFlowDoesNotCrash() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        let publisher = try await env.connect(env.admin)
        let flooding = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Paced to about the rate this test was calibrated at (~50k msg/s in all): publish
                // no longer hops threads, and an unpaced loop buries 20 Swift subscribers.
                for _ in 0..<2 {
                    group.addTask {
                        while !Task.isCancelled {
                            for _ in 0..<25 { try await publisher.publish("flood", payload: [7]) }
                            try await Task.sleep(for: .milliseconds(1))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        defer { flooding.cancel() }
        let delivered = Locked(0)
        let ended = Locked(0)

        for round in 0..<100 {
            var subscriptions: [NatsSubscription] = []
            for _ in 0..<20 { subscriptions.append(try await connection.subscribe("flood")) }
            for messages in subscriptions.map(\.messages) {  // the tasks must not keep a subscription alive
                Task {
                    for await _ in messages { delivered.withLock { $0 += 1 } }
                    ended.withLock { $0 += 1 }
                }
            }
            let before = delivered.value
            try #require(await eventually { delivered.value >= before + 20 }, "messages flowing in round \(round)")
            if round.isMultiple(of: 4) {
                subscriptions.removeAll()  // dropped: each deinit drains and destroys in the background
            } else {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for subscription in subscriptions { group.addTask { try await subscription.drain() } }
                    try await group.waitForAll()
                }
            }
            try #require(
                await eventually(timeout: .seconds(10)) { ended.value == 20 * (round + 1) },
                "20 streams ended in round \(round)")
        }
        flooding.cancel()
        _ = try? await flooding.value
        try await connection.flush()
        #expect(connection.status == .connected)
        await publisher.close()
        await connection.close()
    }

    @Test func droppingAConnectionClosesItInTheBackground() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        var connection: NatsConnection? = try await env.connect(env.admin)
        let events = AsyncRecorder(connection!.events)
        _ = try await connection!.subscribe("left.open")
        connection = nil
        try await events.finished()
        #expect(events.items.last == .closed)
    }

    @Test func serverRestartReportsDisconnectedThenReconnected() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin) {
            $0.allowReconnect = true
            $0.reconnectWait = .milliseconds(50)
            $0.maxReconnect = -1
        }
        let events = AsyncRecorder(connection.events)
        let subscription = try await connection.subscribe("after.restart")
        let received = AsyncRecorder(subscription.messages)

        await env.stop()
        _ = try await events.first(within: .seconds(5), "disconnected") { $0 == .disconnected }
        let restarted = try await env.restartedServer()
        defer { restarted.requestStop() }
        _ = try await events.first(within: .seconds(10), "reconnected") { $0 == .reconnected }

        try await connection.publish("after.restart", payload: Array("again".utf8))
        #expect(try await received.count(1).first?.string == "again")
        await connection.close()
    }

    @Test func connectsThroughACommaSeparatedServerListSkippingADeadServer() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        var options = env.options(user: env.admin)
        let dead = "nats://127.0.0.1:\(FreePort.next())"
        options.servers = ["\(dead), \(env.server.url)"]
        #expect(options.serverURLs == [dead, env.server.url])
        let connection = try await NatsConnection.connect(options)
        #expect(connection.status == .connected)
        await connection.close()
    }

    @Test func connectingToAClosedPortFailsFastNamingTheURL() async throws {
        let url = "nats://127.0.0.1:\(FreePort.next())"
        let started = ContinuousClock.now
        let error = await #expect(throws: NatsError.self) {
            _ = try await NatsConnection.connect(NatsConnectOptions(servers: [url]))
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(5), "took \(elapsed)")  // ~1 ms when idle; generous for a loaded CI box
        #expect(error?.description == "connect to \(url): No server available for connection (natsStatus 6)")
    }
}
