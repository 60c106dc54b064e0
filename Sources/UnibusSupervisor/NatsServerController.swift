public import Foundation
public import Logging

/// Holds the running nats-server child (if any) so the ACL engine can signal it, and records
/// the outcome of the last reload for `/healthz`.
public actor NatsServerController {
    /// The result of the last ACL change applied (or refused).
    public struct ReloadStatus: Sendable, Equatable {
        public var at: Date
        public var ok: Bool
        public var message: String
        public init(at: Date, ok: Bool, message: String) {
            self.at = at
            self.ok = ok
            self.message = message
        }
    }

    public nonisolated let executable: NatsServerExecutable
    public nonisolated let configFile: String
    private var child: NatsServerProcess?
    public private(set) var lastReload: ReloadStatus?

    public init(executable: NatsServerExecutable, configFile: String) {
        self.executable = executable
        self.configFile = configFile
    }

    func attach(_ child: NatsServerProcess?) { self.child = child }

    /// The running child's pid, nil while it is down.
    public var pid: Int32? { child?.pid }

    /// Signals the running server to reload its config and waits for its confirmation.
    /// - Throws: `SupervisorError.notRunning` while no server runs (the next start renders anew).
    public func reload() async throws {
        guard let child else { throw SupervisorError.notRunning }
        try await child.reload()
    }

    public func record(_ status: ReloadStatus) { lastReload = status }

    /// Stops the running server; `NatsServerService` starts it again from a freshly rendered config.
    public func restart() async {
        guard let child else { return }
        await child.stop()
    }
}
