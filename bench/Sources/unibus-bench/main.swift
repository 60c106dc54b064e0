// unibus-bench: on-demand benchmarks of the unibus data plane (see bench/README.md).
// Prints Markdown tables on stdout, progress on stderr. Only 127.0.0.1; every process it starts
// is stopped on exit, on error, on SIGINT/SIGTERM and by a watchdog.
import Foundation
import UnibusCore
import UnibusSupervisor

struct BenchConfig: Sendable {
    var benches: Set<String> = ["pubsub", "revoke"]
    var membershipd: String
    var natsServer = "/usr/sbin/nats-server"
    var messages = 200_000
    var cMessages = 1_000_000
    var payload = 128
    var requests = 2_000
    var warmup = 200
    var runs = 3
    var swiftClient = true
    var cClient = true
    var sizes = [10, 1_000, 10_000]
    var victims = 20
    var storeOps = 5_000
    var apiRequests = 3_000
    var apiConcurrency = 16
    var maxSeconds = 1_800
    var runTimeout: Duration = .seconds(120)
    var keep = false
    var output: String?

    static let usage = """
        usage: unibus-bench [all|pubsub|revoke|store|api|engine|cluster] [options]

          --membershipd PATH   membershipd binary (default: the one next to unibus-bench)
          --nats-server PATH   nats-server binary (default: /usr/sbin/nats-server)
          --messages N         messages per throughput run, Swift client (default 200000)
          --c-messages N       messages per throughput run, nats.c loop (default 1000000)
          --payload BYTES      message size (default 128)
          --requests N         request/reply round trips per run (default 2000; 200 more as warm-up)
          --runs N             runs per side, alternating raw/unibus (default 3)
          --client C           swift, c or both (default both)
          --sizes A,B,...      allowlist sizes for the revoke benchmark (default 10,1000,10000)
          --victims N          revocations per size (default 20)
          --store-ops N        sequential operations per store measurement (default 5000)
          --api-requests N     signed requests per API measurement (default 3000)
          --concurrency N      signed requests in flight for the API benchmark (default 16)
          --max-seconds N      watchdog: stop everything and exit 3 after N s (default 1800)
          --out FILE           also write the Markdown report to FILE
          --keep               keep the temp directories (logs, configs, databases)
        """

    init(_ arguments: [String]) throws {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        membershipd = exe.deletingLastPathComponent().appendingPathComponent("membershipd").path
        var args = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = args.popFirst() else { throw BenchError("\(flag) needs a value\n\n\(Self.usage)") }
            return v
        }
        func int(_ flag: String) throws -> Int {
            let v = try value(flag)
            guard let n = Int(v.replacingOccurrences(of: "_", with: "")), n > 0 else { throw BenchError("\(flag): '\(v)' is not a positive number") }
            return n
        }
        while let arg = args.popFirst() {
            switch arg {
            case "all": benches = ["pubsub", "revoke"]
            case "pubsub", "revoke", "store", "api", "engine", "cluster": benches = [arg]
            case "--membershipd": membershipd = try value(arg)
            case "--nats-server": natsServer = try value(arg)
            case "--messages": messages = try int(arg)
            case "--c-messages": cMessages = try int(arg)
            case "--payload": payload = try int(arg)
            case "--requests": requests = try int(arg)
            case "--runs": runs = try int(arg)
            case "--victims": victims = try int(arg)
            case "--store-ops": storeOps = try int(arg)
            case "--api-requests": apiRequests = try int(arg)
            case "--concurrency": apiConcurrency = try int(arg)
            case "--max-seconds": maxSeconds = try int(arg)
            case "--out": output = try value(arg)
            case "--keep": keep = true
            case "--client":
                switch try value(arg) {
                case "swift": (swiftClient, cClient) = (true, false)
                case "c": (swiftClient, cClient) = (false, true)
                case "both": (swiftClient, cClient) = (true, true)
                case let other: throw BenchError("--client: '\(other)' is not swift, c or both")
                }
            case "--sizes":
                let text = try value(arg)
                sizes = try text.split(separator: ",").map {
                    guard let n = Int($0.replacingOccurrences(of: "_", with: "")), n >= 2 else {
                        throw BenchError("--sizes: '\($0)' is not a number ≥ 2")
                    }
                    return n
                }
            case "-h", "--help":
                print(Self.usage)
                exit(0)
            default:
                throw BenchError("unknown argument '\(arg)'\n\n\(Self.usage)")
            }
        }
        guard FileManager.default.isExecutableFile(atPath: membershipd) else {
            throw BenchError("membershipd not found at \(membershipd): build it (swift build -c release --product membershipd) or pass --membershipd")
        }
        guard FileManager.default.isExecutableFile(atPath: natsServer) else { throw BenchError("nats-server not found at \(natsServer)") }
    }
}

/// Date, machine and versions for the report.
func header(_ cfg: BenchConfig) async -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model =
        cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
    var uts = utsname()
    uname(&uts)
    let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let version = (try? await NatsServerExecutable.locate(cfg.natsServer).version.description) ?? "?"
    let date = ISO8601DateFormatter().string(from: Date())
    let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
    return """
        ## unibus benchmarks — \(date)

        Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(String(format: "%.0f", memory)) GiB, \
        Linux \(kernel). nats-server \(version) (`\(cfg.natsServer)`), nats.c from libnats-dev, release build.

        """
}

let config: BenchConfig
do {
    config = try BenchConfig(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("unibus-bench: \(error)\n".utf8))
    exit(2)
}
Cleanup.shared.keepDirectories = config.keep
Cleanup.shared.installSignalHandlers()
Cleanup.shared.installWatchdog(seconds: config.maxSeconds)

var report = await header(config)
print(report)
do {
    if config.benches.contains("pubsub") {
        let section = try await PubSubBench.run(config)
        print(section)
        report += "\n" + section
    }
    if config.benches.contains("revoke") {
        let section = try await RevokeBench.run(config)
        print(section)
        report += "\n" + section
    }
    if config.benches.contains("store") {
        let section = try await StoreBench.run(config)
        print(section)
        report += "\n" + section
    }
    if config.benches.contains("api") {
        let section = try await APIBench.run(config)
        print(section)
        report += "\n" + section
    }
    if config.benches.contains("engine") {
        let section = try await EngineBench.run(config)
        print(section)
        report += "\n" + section
    }
    if config.benches.contains("cluster") {
        let section = try await ClusterBench.run(config)
        print(section)
        report += "\n" + section
    }
    if let output = config.output {
        try report.write(toFile: output, atomically: true, encoding: .utf8)
    }
    Cleanup.shared.run()
} catch {
    Log.info("failed: \(error)")
    Cleanup.shared.run()
    exit(1)
}
