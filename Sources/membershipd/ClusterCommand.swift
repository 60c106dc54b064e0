import ArgumentParser
import Foundation
import UnibusCore
import UnibusNats
import UnibusStoreKV

/// `membershipd cluster status [--json] [--wait [--timeout S]] [KV]`: each bucket's replicas,
/// leader and followers, and the ACL generation each running node has in force. `--wait` is the
/// gate of a rolling restart: it returns 0 once everything is current.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Cluster status.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buckets' replicas, leaders and followers; each node's ACL generation; --wait until all are current.",
            discussion: """
                Current means: every bucket has a leader and all its followers online and caught up, and every \
                running node has every allowlist change in force. With --wait the command asks again every second \
                until that holds (exit 0) or --timeout passes (exit 1, naming what is not current): run it between \
                the nodes of a rolling restart. JetStream's meta leader is not visible to membershipd's account; \
                the bucket leaders are.
                """)
        @Flag(help: "Print one JSON object instead of lines.") var json = false
        @Flag(help: "Wait until every bucket and every node is current (exit 0), or --timeout (exit 1).") var wait = false
        @Option(help: "Seconds --wait may take.") var timeout = 120
        @OptionGroup var kv: KVOptions

        func validate() throws {
            guard (1...3600).contains(timeout) else { throw BadValue("--timeout \(timeout) is out of range: give 1...3600 seconds") }
        }

        func run() async throws {
            let options = try kv.resolved()
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(timeout)
            var last: ClusterReport?
            var lastError: (any Error)?
            repeat {
                do {
                    let store = try await options.open(name: "membershipd-status")
                    let report = await ClusterReport.measure(store)
                    last = report
                    lastError = nil
                    if !wait || report.problems.isEmpty { break }
                } catch {
                    lastError = error
                    if !wait { throw error }
                }
                try await Task.sleep(for: .seconds(1))
            } while clock.now < deadline
            guard let report = last, lastError == nil || !wait else { throw ClusterStatusError.notCurrent(seconds: timeout, ["\(lastError!)"]) }
            print(json ? try report.json() : report.lines().joined(separator: "\n"))
            if wait && !report.problems.isEmpty { throw ClusterStatusError.notCurrent(seconds: timeout, report.problems) }
        }
    }
}

/// `--wait` ran out of time.
enum ClusterStatusError: Error, CustomStringConvertible {
    case notCurrent(seconds: Int, [String])

    var description: String {
        switch self {
        case .notCurrent(let seconds, let problems):
            "not current after \(seconds) s: \(problems.joined(separator: "; ")); do not restart another node until it is"
        }
    }
}

/// What `cluster status` shows, measured once.
struct ClusterReport: Encodable {
    struct Follower: Encodable {
        var name: String
        var current: Bool
        var offline: Bool
        var lag: UInt64
    }

    struct Bucket: Encodable {
        var name: String
        var replicas: Int
        var leader: String?
        var followers: [Follower]
        var error: String?

        init(name: String, replicas: Int, leader: String?, followers: [Follower], error: String? = nil) {
            (self.name, self.replicas, self.leader, self.followers, self.error) = (name, replicas, leader, followers, error)
        }

        /// A bucket as its stream leader reports it.
        init(_ s: NatsKVBucketStatus) {
            self.init(
                name: s.bucket, replicas: s.replicas, leader: s.leader,
                followers: s.followers.map { Follower(name: $0.name, current: $0.current, offline: $0.offline, lag: $0.lag) })
        }

        /// One line, as `cluster status` and the CLI's post-write report print it.
        var line: String {
            if replicas == 1 && leader == nil { return "\(name): replicas 1 (single server, no replication)" }
            let names = followers.map { "\($0.name)\($0.current ? " current" : " lagging \($0.lag)")\($0.offline ? " offline" : "")" }
            return "\(name): replicas \(replicas), leader \(leader ?? "none (no quorum)")"
                + (names.isEmpty ? "" : ", followers: " + names.joined(separator: ", "))
        }
    }

    struct Node: Encodable {
        var name: String
        var aclGeneration: UInt64
        var current: Bool
        var appliedAt: String

        enum CodingKeys: String, CodingKey {
            case name, current
            case aclGeneration = "acl_generation"
            case appliedAt = "applied_at"
        }
    }

    var buckets: [Bucket] = []
    var nodes: [Node] = []
    /// Servers JetStream places the buckets on, and whether each is online.
    var servers: [String: Bool] = [:]
    /// Everything that is not current; empty when all is.
    var problems: [String] = []
    var allCurrent = false

    enum CodingKeys: String, CodingKey {
        case buckets, nodes, servers, problems
        case allCurrent = "all_current"
    }

    static func measure(_ store: KVAllowlistStore) async -> ClusterReport {
        var report = ClusterReport()
        for bucket in KVAllowlistStore.Bucket.allCases.map(\.rawValue) + [KVAclStatusBoard.bucket] {
            do {
                let s = try await store.jetStream.bucketStatus(bucket)
                let entry = Bucket(s)
                let followers = entry.followers
                report.buckets.append(entry)
                if let leader = s.leader { report.servers[leader] = true }
                for f in followers { report.servers[f.name] = (report.servers[f.name] ?? false) || !f.offline }
                if s.replicas > 1 {
                    if s.leader == nil { report.problems.append("\(bucket) has no leader") }
                    if followers.count < s.replicas - 1 { report.problems.append("\(bucket) has \(followers.count) of \(s.replicas - 1) followers") }
                    for f in followers where f.offline || !f.current {
                        report.problems.append("\(bucket) follower \(f.name) \(f.offline ? "offline" : "lagging \(f.lag)")")
                    }
                }
            } catch {
                report.buckets.append(Bucket(name: bucket, replicas: 0, leader: nil, followers: [], error: "\(error)"))
                report.problems.append("\(bucket): \(error)")
            }
        }
        await report.measureNodes(store)
        report.allCurrent = report.problems.isEmpty
        return report
    }

    private mutating func measureNodes(_ store: KVAllowlistStore) async {
        guard let board = await KVAclStatusBoard.bind(store) else {
            problems.append("no node reports its ACL (bucket \(KVAclStatusBoard.bucket) absent)")
            return
        }
        do {
            let head = try await KVAclSource(store: store).head()
            for node in try await board.runningNodes() {
                let current = node.position.covers(head)
                nodes.append(
                    Node(
                        name: node.node, aclGeneration: node.generation, current: current,
                        appliedAt: ISO8601DateFormatter().string(from: node.appliedAt)))
                if !current { problems.append("node \(node.node) is behind on the ACL (at \(node.position), store at \(head))") }
            }
            let replicas = buckets.map(\.replicas).max() ?? 1
            if nodes.count < replicas { problems.append("\(nodes.count) of \(replicas) nodes report their ACL") }
        } catch {
            problems.append("ACL status unavailable: \(error)")
        }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func lines() -> [String] {
        var out = buckets.map { b -> String in
            if let error = b.error { return "\(b.name): status unavailable (\(error))" }
            return b.line
        }
        out += nodes.map { "node \($0.name): ACL generation \($0.aclGeneration), \($0.current ? "current" : "behind"), applied \($0.appliedAt)" }
        out.append(problems.isEmpty ? "all current" : "not current: " + problems.joined(separator: "; "))
        return out
    }
}
