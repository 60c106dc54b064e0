import Foundation
import Logging
import ServiceLifecycle
import UnibusACL
import UnibusControlPlane
import UnibusCore
import UnibusNats
import UnibusStoreKV
import UnibusStoreSQLite
import UnibusSupervisor
import UnixSignals

/// Everything `serve` decided from its flags, checked before anything starts.
struct ServePlan {
    let options: ServeOptions
    let logger: Logger
    let logOptions: NatsLogOptions
    let busAuthEnforced: Bool
    let tls: NatsServerSettings.TLSFiles
    /// The certificate membershipd presents to its own nats-server (the operator client
    /// certificate in development; otherwise the server certificate, which tls/generate-certs.sh
    /// issues for both server and client auth).
    let internalClientTLS: (cert: String, key: String)
    /// One node per directory (the state directory, the JetStream store, the SQLite file's directory):
    /// held from before anything in them is touched until exit.
    let locks: [InstanceLock]
    /// What the control plane answers for, and how long its connections may take.
    let origins: [PublicOrigin]
    let connectionLimits: ConnectionLimits

    init(_ options: ServeOptions, environment: [String: String], logger: Logger) throws {
        self.options = options
        self.logger = logger
        logOptions = NatsLogOptions(environment: environment)
        switch options.busAuth {
        case .enforce: busAuthEnforced = true
        case .off:
            guard Loopback.isLoopback(options.bind) else { throw ServeError.busAuthOffOffLoopback(options.bind) }
            busAuthEnforced = false
        }
        for (name, port) in [("--nats-port", options.natsPort), ("--http-port", options.httpPort), ("--cluster-port", options.clusterPort)]
        where !(1...65535).contains(port) {
            throw ServeError.invalid("\(name) must be a port from 1 to 65535, not \(port)")
        }
        origins = try Self.publicOrigins(options, hostName: ProcessInfo.processInfo.hostName)
        connectionLimits = try Self.connectionLimits(options)
        locks = try Self.lockDirectories(options)
        tls = try Self.tlsFiles(options, logger: logger)
        let development = NodePaths.local.absolute
        internalClientTLS = options.tlsCert == nil ? (development.clientCertificate, development.clientKey) : (tls.cert, tls.key)
    }

    /// The TLS flags, or on loopback without flags a development CA made in the state directory's tls/.
    static func tlsFiles(_ o: ServeOptions, logger: Logger) throws -> NatsServerSettings.TLSFiles {
        let given = [o.tlsCert, o.tlsKey, o.tlsCA].compactMap { $0 }
        if given.count == 3, let cert = o.tlsCert, let key = o.tlsKey, let ca = o.tlsCA {
            let fix = "PEM files from tls/generate-certs.sh or `membershipd certs`"
            try OperatorFile.certificate(cert, flag: "--tls-cert", fix: "the node's server certificate (\(fix))")
            try OperatorFile.privateKey(key, flag: "--tls-key", fix: "the server certificate's key (\(fix))")
            try OperatorFile.certificate(ca, flag: "--tls-ca", fix: "the CA that signs client certificates (\(fix))")
            return .init(cert: absolute(cert), key: absolute(key), ca: absolute(ca))
        }
        guard given.isEmpty else { throw ServeError.invalid("--tls-cert, --tls-key and --tls-ca go together: give all three or none") }
        guard Loopback.isLoopback(o.bind) else {
            throw ServeError.invalid("--bind \(o.bind) is not loopback: give --tls-cert, --tls-key and --tls-ca (see tls/generate-certs.sh)")
        }
        let dir = URL(fileURLWithPath: NodePaths.local.absolute.tlsDirectory)
        let (paths, created) = try DevelopmentCertificates.ensure(in: dir)
        if created {
            logger.notice(
                "created a development CA, server certificate and operator client certificate in \(dir.path) (ca.crt, server.crt, client.crt; keys 0600)"
            )
        } else {
            logger.info("using development TLS material in \(dir.path)")
        }
        return .init(cert: paths.serverCert.path, key: paths.serverKey.path, ca: paths.caCert.path)
    }

    static func absolute(_ path: String) -> String { NodePaths.absolute(path) }

    /// Locks every directory this node writes, each once: a second node started elsewhere on the
    /// same store is refused too, not only one started in the same working directory.
    static func lockDirectories(_ o: ServeOptions) throws -> [InstanceLock] {
        var directories = [NodePaths.local.absolute.directory, absolute(o.natsStore)]
        if o.store == .sqlite { directories.append((absolute(o.db) as NSString).deletingLastPathComponent) }
        var seen = Set<String>()
        return try directories.filter { seen.insert($0).inserted }.map { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return try InstanceLock(directory: dir)
        }
    }

    /// The node's internal identity (made on first start), its errors naming the flag and the fix.
    static func internalIdentity(_ path: String) throws -> (UserKeyPair, Bool) {
        do {
            return try InternalIdentityFile.loadOrCreate(path)
        } catch SupervisorError.fileMode(let file, let mode) {
            throw ServeError.invalid(
                "--internal-id-file \(file) is readable by group or others (mode \(String(mode, radix: 8))); run: chmod 600 \(file)")
        } catch SupervisorError.io(let file, let reason) {
            throw ServeError.invalid(
                "--internal-id-file \(file): \(reason): give membershipd's internal identity (an nkey seed, mode 0600), or a path where it can make one"
            )
        }
    }

    func run() async throws {
        let (identity, createdIdentity) = try Self.internalIdentity(options.internalIDFile)
        if createdIdentity { logger.notice("created internal identity \(options.internalIDFile) (0600), nkey \(identity.nkey)") }
        let executable = try await NatsServerExecutable.locate(options.natsServer)
        let state = NodePaths.local.absolute
        let settings = NatsServerSettings(
            serverName: options.serverName ?? "unibus-\(ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" })",
            host: options.bind, clientPort: options.natsPort, tls: tls,
            jetStreamDirectory: Self.absolute(options.natsStore), pidFile: state.natsPidFile,
            log: logOptions, cluster: try ClusterPlan.make(options), version: executable.version)
        let configFile = state.natsConfig
        // A nats-server left by a crashed membershipd of this node holds its ports: stop it first.
        NatsServerService.stopSurvivor(pidFile: settings.pidFile, configFile: configFile, logger: logger)
        try Self.refusePortsInUse(options, monitor: logOptions.monitor)
        try NodeRecord(
            store: options.store, db: Self.absolute(options.db), natsURL: "tls://\(Loopback.connectHost(options.bind)):\(options.natsPort)",
            ca: tls.ca, clientCert: internalClientTLS.cert, clientKey: internalClientTLS.key,
            internalIDFile: Self.absolute(options.internalIDFile), serverName: settings.serverName, clusterName: options.clusterName
        ).write(to: state)
        let controller = NatsServerController(executable: executable, configFile: configFile)
        let internalNats = try internalConnectOptions(identity)
        let (ready, readySignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

        if options.store == .kv {
            try JetStreamAccountMigration.moveLegacyStreams(
                storeDirectory: settings.jetStreamDirectory, clustered: settings.cluster != nil, logger: logger)
        } else if !JetStreamAccountMigration.legacyStreams(storeDirectory: settings.jetStreamDirectory).isEmpty {
            logger.warning(
                "\(settings.jetStreamDirectory) holds allowlist buckets in nats-server's global account from before accounts; this node uses SQLite, so they are left in place and unused"
            )
        }

        let store: any AllowlistStore
        let follower: any Service
        if options.store == .kv {
            store = DeferredAllowlistStore()
        } else {
            store = try SQLiteAllowlistStore(path: options.db, createDirectory: options.db == NodePaths.local.database)
        }
        let sqlite = options.store == .sqlite
        let source: (any AclChangeSource)? = sqlite ? SQLiteAclSource(path: options.db) : nil
        let engine = try AclEngine(
            .init(settings: settings, internalNkey: identity.nkey, busAuthEnforced: busAuthEnforced), controller: controller,
            source: source, readableBeforeServer: sqlite, board: sqlite ? SQLiteAclStatusBoard(databasePath: options.db) : nil,
            logger: logger)
        if let deferred = store as? DeferredAllowlistStore {
            follower = KVBootstrapService(
                serverReady: ready, options: internalNats,
                configuration: KVStoreConfiguration(replicas: options.kvReplicas),
                deferred: deferred, engine: engine, logger: logger)
        } else {
            follower = AclFollowService(engine: engine, source: SQLiteAclSource(path: options.db))
        }
        let server = NatsServerService(
            controller: controller, configSource: engine, pidFile: settings.pidFile, logger: logger,
            forwardAllLogs: logOptions.debug
        ) { [logger, options, busAuthEnforced, logOptions] in
            readySignal.yield()
            logger.notice(
                """
                membershipd ready: nats tls://\(options.bind):\(options.natsPort) bus-auth \(busAuthEnforced ? "enforce" : "off") \
                store \(options.store == .kv ? "kv" : "sqlite \(options.db)") monitor \(logOptions.monitor ? NatsServerSettings.monitorAddress : "off")
                """)
        }
        let app = try controlPlane(store: store, engine: engine, controller: controller, natsOptions: internalNats)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server), .init(service: follower), .init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// How membershipd itself connects to its nats-server: the internal identity over TLS.
    func internalConnectOptions(_ identity: UserKeyPair) throws -> NatsConnectOptions {
        var nats = NatsConnectOptions(servers: ["tls://\(Loopback.connectHost(options.bind)):\(options.natsPort)"], name: "membershipd-internal")
        nats.tls = NatsTLSFiles(caFile: tls.ca, certFile: internalClientTLS.cert, keyFile: internalClientTLS.key)
        nats.nkey = NatsNKeyCredentials(publicKey: identity.nkey, seed: try NatsNKeySeed(identity.seed))
        nats.allowReconnect = true
        return nats
    }
}

extension ServePlan {
    /// The HTTPS control plane on --bind:--http-port with the node's server certificate.
    func controlPlane(
        store: any AllowlistStore, engine: AclEngine, controller: NatsServerController,
        natsOptions: NatsConnectOptions
    ) throws -> some Service {
        let posture = NodePosture(
            controller: controller, engine: engine, busAuthEnforced: busAuthEnforced, natsOptions: natsOptions,
            store: store, storeKind: options.store, cluster: options.clusterName,
            certificateExpiry: CertificateExpiry.of(tls.cert), logger: logger)
        let plane = ControlPlane(
            origins: origins, store: store, posture: { await posture.measure() },
            allowlistChanged: { [clustered = options.clusterName != nil] in
                if clustered { return try await engine.syncAcrossNodes() }
                _ = try await engine.sync()
                return nil
            }, limits: connectionLimits)
        logger.notice(
            "control plane: listening on \(options.bind):\(options.httpPort), answering for \(origins.map(\.description).joined(separator: ", "))")
        return try plane.application(host: options.bind, port: options.httpPort, certificateFile: tls.cert, keyFile: tls.key, logger: logger)
    }
}

enum Loopback {
    /// Where membershipd itself connects to its nats-server: loopback when it listens on every address.
    static func connectHost(_ bind: String) -> String {
        bind == "0.0.0.0" || bind == "::" || bind == "[::]" ? "127.0.0.1" : bind
    }

    /// 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || (host.hasPrefix("127.") && host.split(separator: ".").count == 4)
    }
}

enum ServeError: Error, CustomStringConvertible {
    case busAuthOffOffLoopback(String)
    case invalid(String)
    case notAvailable(String)
    var description: String {
        switch self {
        case .busAuthOffOffLoopback(let bind):
            "--bus-auth off is refused with --bind \(bind): without authentication the bus may only listen on loopback (127.0.0.1, ::1)"
        case .invalid(let m), .notAvailable(let m): m
        }
    }
}
