// swift-tools-version: 6.2
import PackageDescription

/// Every `public import` is a deliberate choice; `any` is spelled out.
let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
/// UnibusSupervisor reads `struct stat` (SecureFile checks a secret's mode on the opened
/// descriptor) and the bench reads `timespec`/`rusage`. Which C module clang credits with those
/// structs' members differs between builds (Glibc, CoreFoundation or CDispatch, by build order),
/// so member import visibility cannot be satisfied reliably: these two targets build without it.
let upcomingWithoutMemberImportVisibility: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "unibus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "membershipd", targets: ["membershipd"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-structured-headers", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // C interop: the only target that sees C. No C is compiled; it links Debian's libnats.
        .systemLibrary(
            name: "CNats",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // Pure core: models, validation, nkey encoding, ACL rendering, natsLogOpts, store protocol.
        .target(
            name: "UnibusCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        // Swift owner of every nats.c pointer.
        .target(
            name: "UnibusNats",
            dependencies: ["CNats", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        // The allowlist on SQLite (GRDB).
        .target(
            name: "UnibusStoreSQLite",
            dependencies: ["UnibusCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // The allowlist on JetStream KV (nats.c through UnibusNats).
        .target(
            name: "UnibusStoreKV",
            dependencies: ["UnibusCore", "UnibusNats"],
            swiftSettings: upcoming
        ),
        // Every child process: commands run to completion and long-running children with a
        // teardown (swift-subprocess). Supervisor, tests and the bench all start processes here.
        .target(
            name: "UnibusProcess",
            dependencies: [
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: upcoming
        ),
        // The nats-server child process: version detection, config files, reloads; and the TLS
        // material nodes need (CAs, server, client and route certificates; swift-certificates).
        .target(
            name: "UnibusSupervisor",
            dependencies: [
                "UnibusCore", "UnibusProcess",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingWithoutMemberImportVisibility
        ),
        // The ACL engine: the allowlist in memory, kept current from the store's change stream,
        // rendered per user and applied to nats-server with confirmed generations.
        .target(
            name: "UnibusACL",
            dependencies: [
                "UnibusCore", "UnibusSupervisor",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // HTTPS control plane: /healthz and the RFC 9421 signed API (Hummingbird 2).
        .target(
            name: "UnibusControlPlane",
            dependencies: [
                "UnibusCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The thin executable: argument parsing and wiring.
        .executableTarget(
            name: "membershipd",
            dependencies: [
                "UnibusCore", "UnibusStoreSQLite", "UnibusStoreKV", "UnibusSupervisor", "UnibusACL", "UnibusNats", "UnibusControlPlane",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // On-demand benchmarks (scripts/bench.sh); never run by the tests. Its raw nats.c client is the
        // baseline the product's client is measured against, so it imports CNats directly.
        .executableTarget(
            name: "unibus-bench",
            dependencies: [
                "CNats", "UnibusCore", "UnibusNats", "UnibusProcess", "UnibusSupervisor", "UnibusStoreSQLite", "UnibusStoreKV",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/Sources/unibus-bench",
            swiftSettings: upcomingWithoutMemberImportVisibility
        ),
        .target(
            name: "UnibusTestSupport",
            dependencies: ["UnibusCore", "UnibusProcess"],
            path: "Tests/UnibusTestSupport",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusCoreTests",
            dependencies: ["UnibusCore", "UnibusTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusStoreTests",
            dependencies: ["UnibusCore", "UnibusStoreSQLite", "UnibusStoreKV", "UnibusNats", "UnibusProcess", "UnibusTestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusNatsTests",
            dependencies: ["UnibusNats", "UnibusSupervisor", "UnibusTestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusProcessTests",
            dependencies: ["UnibusProcess"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusSupervisorTests",
            dependencies: ["UnibusSupervisor", "UnibusCore", "UnibusProcess", "UnibusTestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusACLTests",
            dependencies: [
                "UnibusACL", "UnibusCore", "UnibusSupervisor", "UnibusStoreSQLite", "UnibusNats", "UnibusTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "UnibusControlPlaneTests",
            dependencies: [
                "UnibusControlPlane", "UnibusCore", "UnibusProcess", "UnibusStoreSQLite", "UnibusTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "MembershipdTests",
            dependencies: [
                "UnibusCore", "UnibusStoreSQLite", "UnibusStoreKV", "UnibusNats", "UnibusProcess", "UnibusSupervisor", "UnibusTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
    ]
)
