import Foundation
import Testing
import UnibusNats

@Suite(.serialized) struct ZZProbe {
    @Test func probeDrainUnderFlood() async throws {
        let env = try NatsTestEnvironment()
        defer { env.stop() }
        let connection = try await NatsConnection.connect(env.options(user: env.admin))
        let events = StreamRecorder(connection.events)
        let publisher = try await NatsConnection.connect(env.options(user: env.admin))
        let published = Locked(0)
        let flooding = Task {
            while !Task.isCancelled {
                for _ in 0..<100 { try await publisher.publish("flood", payload: [7]) }
                try await publisher.flush()
                published.withLock { $0 += 100 }
            }
        }
        let delivered = Locked(0)
        let t0 = ContinuousClock.now
        var slowest = Duration.zero
        for round in 0..<1000 {
            let subscription = try await connection.subscribe("flood")
            let messages = subscription.messages
            let counting = Task { for await _ in messages { delivered.withLock { $0 += 1 } } }
            try await eventually(within: .seconds(5), "msg") { delivered.value > round }
            if round % 10 == 0 { _ = consume subscription; continue }
            let d0 = ContinuousClock.now
            do { try await subscription.drain(timeout: .seconds(5)) } catch {
                print("PROBE round \(round) drain failed after \(ContinuousClock.now - d0): \(error)")
                print("PROBE status \(connection.status) events \(events.items.suffix(3))")
                break
            }
            let took = ContinuousClock.now - d0
            if took > slowest { slowest = took; print("PROBE round \(round) drain took \(took)") }
            await counting.value
        }
        flooding.cancel()
        print("PROBE total \(ContinuousClock.now - t0) published \(published.value) delivered \(delivered.value)")
    }
}
