import Foundation
import Testing
import UnibusNats
import UnibusTestSupport

/// Publishing on the caller's thread and `sendAsap`; each test starts its own nats-server.
/// Speed is measured by unibus-bench (docs/BENCHMARKS.md), never asserted here.
@Suite(.serialized)
struct NatsPublishTests {
    /// Structural guard for request/reply latency: on a `sendAsap` connection a publish has left
    /// nats.c's buffer when it returns, so a reply does not wait for the flusher's ~1 ms batching
    /// delay. Holds exactly (no timing involved): with `sendAsap`, nats.c runs no flusher and
    /// writes the buffer inside the publish call, under its connection lock.
    @Test func sendAsapPublishIsWrittenBeforeItReturns() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin) { $0.sendAsap = true }
        let subscription = try await connection.subscribe("asap.>")
        let received = AsyncRecorder(subscription.messages)
        try await connection.flush()

        for index in 0..<50 {
            try await connection.publish("asap.\(index)", payload: Array(repeating: 1, count: index * 10))
            #expect(connection.bufferedByteCount == 0, "publish \(index) left bytes in nats.c's buffer")
        }
        #expect(try await received.count(50).map(\.subject) == (0..<50).map { "asap.\($0)" })
        await connection.close()
    }

    @Test func sendAsapResponderAnswersRequests() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let responder = try await env.connect(env.admin) { $0.sendAsap = true }
        let requester = try await env.connect(env.admin)
        let service = try await responder.subscribe("svc.echo")
        let serving = Task {
            for await request in service.messages {
                if let reply = request.reply { try await responder.publish(reply, payload: request.payload) }
            }
        }
        defer { serving.cancel() }
        try await responder.flush()

        for index in 0..<20 {
            let reply = try await requester.request("svc.echo", payload: Array("\(index)".utf8), timeout: .seconds(10))
            #expect(reply.string == "\(index)")
        }
        await requester.close()
        await responder.close()
    }

    /// Publishes from several tasks at once (nats.c serialises them behind its connection lock):
    /// every message arrives, and each task's messages arrive in the order it sent them.
    @Test func concurrentPublishersKeepEachTasksOrder() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let subscriber = try await env.connect(env.admin)
        let publisher = try await env.connect(env.admin)
        let subscription = try await subscriber.subscribe("many.*")
        let received = AsyncRecorder(subscription.messages)
        try await subscriber.flush()

        let (tasks, perTask) = (6, 400)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        try await publisher.publish("many.\(task)", payload: Data("\(index)".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await publisher.flush()

        let messages = try await received.count(tasks * perTask, within: .seconds(20))
        #expect(messages.count == tasks * perTask)
        for task in 0..<tasks {
            let sent = messages.filter { $0.subject == "many.\(task)" }.compactMap(\.string)
            #expect(sent == (0..<perTask).map { "\($0)" }, "task \(task)")
        }
        await publisher.close()
        await subscriber.close()
    }

    /// A publish does not suspend, so a publish loop relies on the periodic yield to let other
    /// tasks run. More looping tasks than cores: without the yield this test never ends.
    @Test(.timeLimit(.minutes(1))) func publishLoopsLeaveRoomForOtherTasks() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let publisher = try await env.connect(env.admin)
        let loops = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<(2 * ProcessInfo.processInfo.activeProcessorCount + 2) {
                    group.addTask {
                        var sent = 0
                        while !Task.isCancelled {
                            try await publisher.publish("loop", payload: [1])
                            sent += 1
                        }
                        return sent
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        let ticks = Locked(0)
        let ticker = Task {
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(10))
                ticks.withLock { $0 += 1 }
            }
        }
        try await ticker.value
        loops.cancel()
        #expect(try await loops.value > 0)
        #expect(ticks.value == 5)
        await publisher.close()
    }

    @Test func invalidSubjectFailsOnTheSpotWithNatsText() async throws {
        let env = try await NatsTestEnvironment()
        defer { env.requestStop() }
        let connection = try await env.connect(env.admin)
        let error = await #expect(throws: NatsError.self) {
            try await connection.publish("", payload: [1])
        }
        #expect(error?.operation == "publish to ")
        #expect(error?.statusText == "Invalid Subject")
        #expect(connection.status == .connected)
        await connection.close()
    }

    @Test func optionsDescriptionNamesSendAsap() {
        var options = NatsConnectOptions(servers: ["nats://127.0.0.1:4222"])
        #expect(!options.description.contains("send asap"))
        options.sendAsap = true
        #expect(options.description == "NatsConnectOptions(servers: nats://127.0.0.1:4222, send asap)")
    }
}
