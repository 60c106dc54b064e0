import Foundation

enum Stats {
    /// Nearest-rank percentile (p in 0...100) of unsorted samples; NaN when empty.
    static func percentile(_ samples: [Double], _ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    static func median(_ samples: [Double]) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

enum Format {
    /// 1234567.8 → "1,234,568".
    static func int(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func fixed(_ value: Double, _ digits: Int = 1) -> String {
        guard value.isFinite else { return "—" }
        return String(format: "%.\(digits)f", value)
    }

    static func ratio(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        return String(format: "%.3f", value)
    }

    static func bytes(_ n: Int) -> String {
        if n >= 1 << 20 { return String(format: "%.2f MB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return String(format: "%.1f KB", Double(n) / Double(1 << 10)) }
        return "\(n) B"
    }
}

/// A Markdown table.
struct Table {
    let headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func add(_ cells: String...) { rows.append(cells) }

    var markdown: String {
        var out = "| " + headers.joined(separator: " | ") + " |\n"
        out += "|" + headers.enumerated().map { i, _ in i == 0 ? "---" : "--:" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }
}

/// The 1/5/15-minute load averages, e.g. "0.12 0.30 0.25": other work on the machine skews results.
func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// CPU time, which (unlike wall-clock time) other work on a shared machine barely changes.
enum CPU {
    /// CPU seconds used so far by every live thread of `pid` (`/proc/<pid>/task/*/schedstat`,
    /// nanosecond resolution). nil once the process is gone.
    static func process(_ pid: Int32) -> Double? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total: UInt64 = 0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8),
                let first = text.split(separator: " ").first, let ns = UInt64(first)
            else { continue }
            total += ns
        }
        return Double(total) / 1e9
    }

    /// CPU seconds of the children `pid` has waited for (`cutime + cstime` of `/proc/<pid>/stat`,
    /// clock-tick resolution, usually 10 ms).
    static func reapedChildren(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, so cutime/cstime (16/17) are at offsets 13/14.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let cutime = Double(fields[13]), let cstime = Double(fields[14]) else { return nil }
        return (cutime + cstime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds of this process's reaped children (microsecond resolution).
    static func ownChildren() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds used by this process (all threads).
    static func own() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
