import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Errors an operator meets before anything runs: each names the flag, the file or the port,
/// and the fix; none shows an errno number or a TLS library's error stack; nothing starts.
@Suite("operator messages name the flag, the file, the port and the fix", .serialized)
struct OperatorMessageTests {
    /// A socket listening on 127.0.0.1:port until closed, as another program would hold it.
    final class Listener {
        let fd: Int32
        let port: Int
        init() throws {
            port = FreePort.next()
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = FreePort.loopback(port: port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 1) == 0 else { throw FixtureFailure("cannot listen on \(port)") }
        }
        deinit { close(fd) }
    }

    static func expectOneCleanLine(_ r: CLIResult, _ sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        for leak in ["errno", "BoringSSL", "NIOSSL", "IOError"] {
            #expect(!r.stderr.contains(leak), "\(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    static func serve(_ arguments: [String], in dir: TempDirectory) async throws -> CLIResult {
        try await CLI.run(["serve", "--nats-server", NatsServerBinaries.debian] + arguments, cwd: dir.url)
    }

    @Test("serve: a missing --tls-cert is named with the fix; nothing starts")
    func missingTLSCertificate() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let r = try await Self.serve(
            ["--tls-cert", dir.file("absent.crt"), "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/ca.crt"], in: dir)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("--tls-cert \(dir.file("absent.crt")): cannot read it (no such file): give the node's server certificate"),
            "\(r.stderr)")
        Self.expectOneCleanLine(r)
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/node.json")))
    }

    @Test("serve: a --tls-ca that is not a certificate is named")
    func tlsCAThatIsNoCertificate() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let r = try await Self.serve(
            ["--tls-cert", "\(tls)/server.crt", "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/server.key"], in: dir)
        #expect(r.status == 1 && r.stderr.contains("--tls-ca \(tls)/server.key is not a PEM certificate"), "\(r.stderr)")
        Self.expectOneCleanLine(r)
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/node.json")))
    }

    @Test("serve: a damaged --tls-cert is named before anything starts (not a TLS library's error name)")
    func damagedTLSCertificate() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let bad = dir.file("bad.crt")
        try "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try await Self.serve(["--tls-cert", bad, "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/ca.crt"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("--tls-cert \(bad) holds no readable certificate (damaged or truncated PEM?)"), "\(r.stderr)")
        Self.expectOneCleanLine(r)
        #expect(!r.stderr.contains("failedToLoadCertificate"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/node.json")))
    }

    @Test("serve: a --tls-key others can read names the flag and the chmod")
    func openTLSKey() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        chmod("\(tls)/server.key", 0o644)
        let r = try await Self.serve(["--tls-cert", "\(tls)/server.crt", "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/ca.crt"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("--tls-key \(tls)/server.key is readable by group or others (mode 644); run: chmod 600"), "\(r.stderr)")
    }

    @Test("serve: an --http-port in use is named with the fix; nats-server is not started", arguments: ["--http-port", "--nats-port"])
    func portInUse(_ flag: String) async throws {
        let dir = TempDirectory("unibus-test-cli")
        let held = try Listener()
        let other = flag == "--http-port" ? "--nats-port" : "--http-port"
        let r = try await Self.serve([flag, "\(held.port)", other, "\(FreePort.next())"], in: dir)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains(
                "error: \(flag) \(held.port): 127.0.0.1:\(held.port) is already in use (another membershipd serve or another program): stop it or choose another \(flag)"
            ), "\(r.stderr)")
        #expect(!r.stderr.contains("errno"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/nats-server.pid")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/node.json")))
    }

    @Test("api: a missing --ca is named before any connection")
    func apiMissingCA() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let key = dir.file("alice.seed")
        FileManager.default.createFile(atPath: key, contents: Data(Fixture.keyPair(1).nkeySeed.utf8), attributes: [.posixPermissions: 0o600])
        let r = try await CLI.run(["api", "GET", "/v1/me", "--key-file", key, "--ca", dir.file("absent.crt")], cwd: dir.url)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("--ca \(dir.file("absent.crt")): cannot read it (no such file): give the CA that signed the node's server certificate"),
            "\(r.stderr)")
        Self.expectOneCleanLine(r)
    }

    @Test("api: nothing listening at --url is said so, without an errno")
    func apiConnectionRefused() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let key = dir.file("alice.seed")
        FileManager.default.createFile(atPath: key, contents: Data(Fixture.keyPair(1).nkeySeed.utf8), attributes: [.posixPermissions: 0o600])
        let url = "https://127.0.0.1:\(FreePort.next())"
        let r = try await CLI.run(["api", "GET", "/v1/me", "--key-file", key, "--ca", "\(tls)/ca.crt", "--url", url], cwd: dir.url)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("nothing answers at \(url) (connection refused): check --url and that membershipd serve runs there"), "\(r.stderr)")
        Self.expectOneCleanLine(r)
    }

    @Test("KV commands: a missing --ca is named before any connection")
    func kvMissingCA() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let r = try await CLI.run(
            ["user", "list", "--store", "kv", "--nats-url", "nats://127.0.0.1:\(FreePort.next())", "--ca", dir.file("absent.crt")], cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("--ca \(dir.file("absent.crt")): cannot read it (no such file): give the CA of the node's server certificate"))
        Self.expectOneCleanLine(r)
    }

    @Test("KV commands: a missing --internal-id-file is named with the fix")
    func kvMissingIdentity() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let id = dir.file("absent.id")
        let r = try await CLI.run(
            [
                "user", "list", "--store", "kv", "--nats-url", "nats://127.0.0.1:\(FreePort.next())", "--ca", "\(tls)/ca.crt", "--internal-id-file",
                id,
            ],
            cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("--internal-id-file \(id): cannot read it (no such file): give membershipd's internal identity"), "\(r.stderr)")
        Self.expectOneCleanLine(r)
    }

    @Test("serve: an --internal-id-file others can read, or that holds no seed, is named with its flag; nothing starts")
    func serveIdentityFile() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let open = dir.file("open.id"), junk = dir.file("junk.id")
        FileManager.default.createFile(atPath: open, contents: Data("SUAM\n".utf8), attributes: [.posixPermissions: 0o644])
        FileManager.default.createFile(atPath: junk, contents: Data("not a seed\n".utf8), attributes: [.posixPermissions: 0o600])
        let ports = ["--nats-port", "\(FreePort.next())", "--http-port", "\(FreePort.next())"]
        // serve logs (its TLS material) before it reads the identity: the error is its last line.
        func error(_ r: CLIResult) -> String { r.stderr.split(separator: "\n").last.map(String.init) ?? "" }
        let loose = try await Self.serve(ports + ["--internal-id-file", open], in: dir)
        #expect(loose.status == 1)
        #expect(
            error(loose) == "error: --internal-id-file \(open) is readable by group or others (mode 644); run: chmod 600 \(open)", "\(loose.stderr)")
        let bad = try await Self.serve(ports + ["--internal-id-file", junk], in: dir)
        #expect(bad.status == 1)
        #expect(error(bad).hasPrefix("error: --internal-id-file \(junk): "), "\(bad.stderr)")
        #expect(!bad.stderr.contains("not a seed"), "\(bad.stderr)")
        for leak in ["errno", "BoringSSL", "NIOSSL", "IOError"] { #expect(!(loose.stderr + bad.stderr).contains(leak)) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("local_files/nats-server.pid")))
    }

    @Test("KV commands: an --internal-id-file that holds no seed is named with its flag")
    func kvIdentityThatIsNoSeed() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let id = dir.file("internal.id")
        FileManager.default.createFile(atPath: id, contents: Data("not a seed\n".utf8), attributes: [.posixPermissions: 0o600])
        let r = try await CLI.run(
            [
                "user", "list", "--store", "kv", "--nats-url", "nats://127.0.0.1:\(FreePort.next())", "--ca", "\(tls)/ca.crt", "--internal-id-file",
                id,
            ],
            cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: --internal-id-file \(id): not a user nkey seed"), "\(r.stderr)")
        #expect(!r.stderr.contains("not a seed"), "\(r.stderr)")  // the file's content is never echoed
        Self.expectOneCleanLine(r)
    }

    @Test("KV commands: an unreachable --nats-url is named with the fix")
    func kvUnreachable() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let tls = try await ServeLifecycleTests.certificates(in: dir)
        let id = dir.file("internal.id")
        FileManager.default.createFile(atPath: id, contents: Data(UserKeyPair().nkeySeed.utf8), attributes: [.posixPermissions: 0o600])
        let url = "nats://127.0.0.1:\(FreePort.next())"
        let r = try await CLI.run(
            ["user", "list", "--store", "kv", "--nats-url", url, "--ca", "\(tls)/ca.crt", "--internal-id-file", id], cwd: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot reach nats-server at \(url)") && r.stderr.contains("check --nats-url"), "\(r.stderr)")
        Self.expectOneCleanLine(r)
    }

    @Test("migrate-to-kv: --replicas still works for one release, with a warning on stderr")
    func deprecatedReplicasWarns() async throws {
        let dir = TempDirectory("unibus-test-cli")
        let base = ["migrate-to-kv", "--db", dir.file("absent.db"), "--nats-url", "nats://127.0.0.1:\(FreePort.next())"]
        let old = try await CLI.run(base + ["--replicas", "9"], cwd: dir.url)
        #expect(old.status == 1)
        #expect(old.stderr.hasPrefix("warning: --replicas is deprecated; use --kv-replicas\n"), "\(old.stderr)")
        #expect(old.stderr.contains("error: --kv-replicas must be from 1 to 5, not 9"), "\(old.stderr)")  // the alias is --kv-replicas
        let new = try await CLI.run(base + ["--kv-replicas", "9"], cwd: dir.url)
        #expect(new.status == 1 && !new.stderr.contains("deprecated"), "\(new.stderr)")
        #expect(new.stderr.contains("error: --kv-replicas must be from 1 to 5, not 9"), "\(new.stderr)")
        let both = try await CLI.run(base + ["--replicas", "1", "--kv-replicas", "3"], cwd: dir.url)
        #expect(both.status == 2 && both.stderr.contains("--replicas 1 and --kv-replicas 3 disagree"), "\(both.stderr)")
    }
}
