public import Foundation

/// Reads an `AsyncStream` from one task for the whole test and records what arrives, so a test
/// can poll with a deadline instead of sleeping.
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

    public var items: [Element] { lock.withLock { recorded } }
    public var isFinished: Bool { lock.withLock { ended } }

    /// Waits until an item matches; false if none did within `timeout`.
    public func contains(within timeout: Duration = .seconds(5), where predicate: @escaping (Element) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { items.contains(where: predicate) }
    }

    /// Waits until at least `count` items arrived.
    public func count(atLeast count: Int, within timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { items.count >= count }
    }

    deinit { task?.cancel() }
}
