// swift-tools-version:6.0
import PackageDescription

/// tcsplitter: one TCP stream split over many short-lived TCP connections.
///
/// Module layout (see README "Modules"):
/// - `CTCSplitterISAL`: Intel ISA-L's erasure-code header (Debian `libisal-dev`).
/// - `TCSplitterFEC`: Reed-Solomon codec over ISA-L; the only place with unsafe pointers to it.
/// - `TCSplitterCore`: wire format, value-type state machines, configuration. No sockets, no clock reads.
/// - `TCSplitterNIO`: channel handlers, connection pools, the client and server ends, in folders
///   named for their part of the data path (Session/, Connection/, Link/, Ends/, UDP/, Security/,
///   Transparent/, Statistics/).
/// - `TCSplitterTools`: the echo service, probe, chaos proxy and UDP tools (`tcsplitter echo` …).
/// - `TCSplitterService`: running an end as a service: status reports, Prometheus metrics over HTTP,
///   graceful shutdown (swift-service-lifecycle, swift-metrics, swift-prometheus, NIOHTTP1).
/// - `tcsplitter`: the command line.
/// The data path's targets skip the run-time exclusivity checks in release builds (about 5% of
/// an end's CPU at 10,000-byte payloads); debug builds, which the tests use, keep them. The flag
/// is an unsafe one, so other packages cannot depend on these libraries by version: they are
/// the `tcsplitter` executable's parts, not a published API.
let dataPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "tcsplitter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tcsplitter", targets: ["tcsplitter"]),
        .library(name: "TCSplitterCore", targets: ["TCSplitterCore"]),
        .library(name: "TCSplitterNIO", targets: ["TCSplitterNIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CTCSplitterISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .target(
            name: "TCSplitterFEC",
            dependencies: [
                "CTCSplitterISAL",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TCSplitterCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: dataPathSettings
        ),
        .target(
            name: "TCSplitterNIO",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterFEC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: dataPathSettings
        ),
        .target(
            name: "TCSplitterTools",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TCSplitterService",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "tcsplitter",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterNIO",
                "TCSplitterService",
                "TCSplitterTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "TCSplitterBenchmarks",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterFEC",
                "CTCSplitterISAL",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "TCSplitterLinkEmulator",
            path: "Sources/TCSplitterLinkEmulator"
        ),
        .target(
            name: "TCSplitterTestSupport",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/TCSplitterTestSupport"
        ),
        .testTarget(
            name: "TCSplitterFECTests",
            dependencies: [
                "TCSplitterFEC",
                "TCSplitterCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TCSplitterCoreTests",
            dependencies: [
                "TCSplitterCore",
                "TCSplitterTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TCSplitterNIOTests",
            dependencies: [
                "TCSplitterNIO",
                "TCSplitterTestSupport",
                "TCSplitterCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TCSplitterServiceTests",
            dependencies: [
                "TCSplitterService",
                "TCSplitterCore",
                "TCSplitterNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "TCSplitterIntegrationTests",
            dependencies: [
                "tcsplitter",
                "TCSplitterNIO",
                "TCSplitterTools",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
