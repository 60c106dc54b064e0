public import Foundation

/// Reads an `AsyncStream` from one task for the whole test and records what arrives, so a test
/// can poll with a deadline instead of sleeping. Releasing the recorder cancels its reader.
public final class AsyncRecorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Element] = []
    private var ended = false
    private var task: Task<Void, Never>?
    private let owner: AnyObject?

    /// - Parameter owner: kept alive as long as the recorder (e.g. the subscription the stream belongs to).
    public init(_ stream: AsyncStream<Element>, keeping owner: AnyObject? = nil) {
        self.owner = owner
        task = Task { [weak self] in
            for await item in stream { self?.append(item) }
            self?.lock.withLock { self?.ended = true }
        }
    }

    private func append(_ item: Element) { lock.withLock { recorded.append(item) } }

    /// Everything recorded so far, in arrival order.
    public var items: [Element] { lock.withLock { recorded } }
    /// Whether the stream has ended.
    public var isFinished: Bool { lock.withLock { ended } }

    /// Waits until an item matches; false if none did within `timeout`.
    public func contains(within timeout: Duration = .seconds(5), where predicate: @escaping (Element) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { items.contains(where: predicate) }
    }

    /// Waits until at least `count` items arrived.
    public func count(atLeast count: Int, within timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { items.count >= count }
    }

    /// The first recorded item matching `predicate`, waiting up to `timeout` for it.
    /// - Throws: ``FixtureError`` naming `what` (and what was recorded) if none arrived in time.
    public func first(
        within timeout: Duration = .seconds(5), _ what: String = "element",
        where predicate: (Element) -> Bool
    ) async throws -> Element {
        var match: Element?
        _ = await eventually(timeout: timeout) {
            match = items.first(where: predicate)
            return match != nil
        }
        guard let match else { throw FixtureError("no \(what) within \(timeout); recorded: \(items)") }
        return match
    }

    /// Waits until at least `count` items arrived; returns them all.
    /// - Throws: ``FixtureError`` if fewer arrived within `timeout`.
    public func count(_ count: Int, within timeout: Duration = .seconds(5)) async throws -> [Element] {
        guard await eventually(timeout: timeout, { items.count >= count }) else {
            throw FixtureError("timed out after \(timeout) waiting for \(count) items (have \(items.count))")
        }
        return items
    }

    /// Waits until the stream has ended.
    /// - Throws: ``FixtureError`` if it did not end within `timeout`.
    public func finished(within timeout: Duration = .seconds(5)) async throws {
        guard await eventually(timeout: timeout, { isFinished }) else {
            throw FixtureError("timed out after \(timeout) waiting for end of stream")
        }
    }

    deinit { task?.cancel() }
}
