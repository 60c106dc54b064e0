import Foundation
import Testing
import UnibusProcess
import UnibusTestSupport

/// One case of the attack suite: what an attacker tried, what must happen, what happened.
struct AttackRow: Sendable {
    /// The node it ran against, e.g. "sqlite · 2.9.10".
    let world: String
    /// data | keys | control | timeouts | process
    let group: String
    let name: String
    let expected: String
    let got: String
    let ok: Bool
}

/// Collects the rows of every test of ``AttackSuiteTests`` and, when `UNIBUS_SECURITY_REPORT`
/// names a file, rewrites it as a Markdown table after each test (so it always holds every row
/// collected so far; scripts/security-tests.sh adds the header).
actor AttackReport {
    static let shared = AttackReport()
    private var rows: [AttackRow] = []

    /// Adds `rows`, records an issue for each row whose got is not what was expected, and rewrites the report.
    func add(_ new: [AttackRow]) throws {
        rows += new
        for row in new where !row.ok {
            Issue.record("[\(row.world)] \(row.group): \(row.name) — expected \(row.expected), got \(row.got)")
        }
        try write()
    }

    private func write() throws {
        guard let path = ProcessInfo.processInfo.environment["UNIBUS_SECURITY_REPORT"], !path.isEmpty else { return }
        try Data(Self.markdown(rows).utf8).write(to: URL(fileURLWithPath: path))
    }

    static let groupOrder = ["data", "keys", "control", "timeouts", "process"]

    /// The table, grouped as ``groupOrder`` says, then by case and world.
    static func markdown(_ rows: [AttackRow]) -> String {
        let sorted = rows.sorted {
            let a = groupOrder.firstIndex(of: $0.group) ?? 99, b = groupOrder.firstIndex(of: $1.group) ?? 99
            return (a, $0.name, $0.world) < (b, $1.name, $1.world)
        }
        let cases = Set(rows.map { "\($0.group)\u{1}\($0.name)" }).count
        let failed = rows.filter { !$0.ok }
        var out = "\(cases) distinct cases, \(rows.count) rows (a case runs once per node it applies to), \(failed.count) failed.\n\n"
        out += "| # | group | case | node | expected | got | ok |\n|---|---|---|---|---|---|---|\n"
        for (i, r) in sorted.enumerated() {
            out += "| \(i + 1) | \(r.group) | \(cell(r.name)) | \(r.world) | \(cell(r.expected)) | \(cell(r.got)) | \(r.ok ? "ok" : "**FAIL**") |\n"
        }
        return out
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// Rows of one process test, built as it goes.
final class RowList: @unchecked Sendable {
    let world: String
    private let lock = NSLock()
    private var collected: [AttackRow] = []

    init(world: String) { self.world = world }

    var rows: [AttackRow] { lock.withLock { collected } }

    /// Adds a row whose got is `got` and which passes when `ok`.
    func add(_ name: String, expected: String, got: String, ok: Bool) {
        lock.withLock { collected.append(AttackRow(world: world, group: "process", name: name, expected: expected, got: got, ok: ok)) }
    }
}

/// The version a nats-server binary reports, e.g. "2.9.10".
enum NatsServerVersionLabel {
    static func of(_ path: String) async -> String {
        guard let result = try? await Command(path, ["--version"]).output() else { return "?" }
        let text = result.stdout + result.stderr
        guard let v = text.split(separator: " ").last(where: { $0.hasPrefix("v") }) else { return "?" }
        return String(v.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
