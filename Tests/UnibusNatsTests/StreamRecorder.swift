/// Reads an `AsyncStream` from one task for the whole test and records what arrived, so a test
/// can poll it with a deadline instead of sleeping (and never cancels the stream's only reader).
final class StreamRecorder<Element: Sendable>: Sendable {
    private let state = Locked<(items: [Element], finished: Bool)>(([], false))

    init(_ stream: AsyncStream<Element>) {
        Task { [state] in
            for await item in stream { state.withLock { $0.items.append(item) } }
            state.withLock { $0.finished = true }
        }
    }

    var items: [Element] { state.withLock { $0.items } }
    var isFinished: Bool { state.withLock { $0.finished } }

    /// The first recorded item matching `predicate`, waiting up to `timeout` for it.
    func first(
        within timeout: Duration = .seconds(5), _ what: String = "element",
        where predicate: (Element) -> Bool
    ) async throws -> Element {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let match = items.first(where: predicate) { return match }
            guard ContinuousClock.now < deadline else {
                throw FixtureError("no \(what) within \(timeout); recorded: \(items)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until at least `count` items arrived; returns them all.
    func count(_ count: Int, within timeout: Duration = .seconds(5)) async throws -> [Element] {
        try await eventually(within: timeout, "\(count) items (have \(items.count))") { items.count >= count }
        return items
    }

    /// Waits until the stream has ended.
    func finished(within timeout: Duration = .seconds(5)) async throws {
        try await eventually(within: timeout, "end of stream") { isFinished }
    }
}

/// Polls `condition` every 10 ms until it holds; throws naming `what` after `timeout`.
func eventually(
    within timeout: Duration = .seconds(5), _ what: @autoclosure () -> String, _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            throw FixtureError("timed out after \(timeout) waiting for \(what())")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
