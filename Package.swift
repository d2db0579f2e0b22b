// swift-tools-version:6.1
import PackageDescription

// llama.cpp comes from PyPI's llama-cpp-python, installed by scripts/setup.sh into a cache
// folder; nothing of llama.cpp is in the repo. The CLlama system library finds its headers
// and libraries through pkg-config (the setup writes .welfare/pkgconfig/modelwelfare-llama.pc;
// PKG_CONFIG_PATH must name that folder), so the library targets carry no unsafe flags and
// build as a dependency of other packages. SwiftPM refuses an rpath from pkg-config, so the
// executables and tests here, being leaves, add it themselves: $ORIGIN first, so an installed
// binary (scripts/install.sh) finds the libraries beside it.
let llamaLibraryDirectory = Context.packageDirectory + "/.welfare/llama/lib"
let leafLinkerSettings: [LinkerSetting] = [.unsafeFlags([
    "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN",
    "-Xlinker", "-rpath", "-Xlinker", llamaLibraryDirectory,
])]
let libraryTargets = ["WelfareCore", "WelfarePages", "WelfareStore", "WelfareEngine", "WelfareModels", "WelfareLocal", "WelfareHarness", "WelfareInterp",
                      "WelfarePreservation", "WelfarePreferences", "WelfareSelfReports", "WelfareReports", "WelfareConversations", "WelfareAssessment", "WelfareServer"]

let package = Package(
    name: "ModelWelfare",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "welfare", targets: ["WelfareCLI"]),
        .executable(name: "welfare-bench", targets: ["WelfareBench"]),
        .library(name: "ModelWelfare", targets: libraryTargets),
        .library(name: "WelfareCore", targets: ["WelfareCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CLlama", path: "Sources/CLlama", pkgConfig: "modelwelfare-llama"),
        .target(name: "WelfareCore"),
        .target(name: "WelfarePages", dependencies: ["WelfareCore"]),
        .target(
            name: "WelfareStore",
            dependencies: [
                "WelfareCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "WelfareEngine",
            dependencies: ["WelfareCore", "CLlama", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "WelfareModels",
            dependencies: [
                "WelfareCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "WelfareLocal", dependencies: ["WelfareCore", "WelfareEngine", "WelfareModels"]),
        .target(
            name: "WelfareHarness",
            dependencies: [
                "WelfareCore",
                "WelfareModels",
                "WelfareStore",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Suites")]
        ),
        .target(
            name: "WelfareInterp",
            dependencies: ["WelfareLocal", "WelfareCore", "WelfareEngine", "WelfareHarness", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Data")]
        ),
        .target(
            name: "WelfarePreservation",
            dependencies: ["WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Yams", package: "Yams")],
            resources: [.copy("Data")]
        ),
        .target(
            name: "WelfarePreferences",
            dependencies: ["WelfareLocal", "WelfareStore", "WelfarePages", "WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", "WelfareInterp"],
            resources: [.copy("Data")]
        ),
        .target(
            name: "WelfareSelfReports",
            dependencies: ["WelfareLocal", "WelfareStore", "WelfarePages", "WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", "WelfareInterp", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Data")]
        ),
        .target(
            name: "WelfareReports",
            dependencies: ["WelfareStore", "WelfarePages", "WelfareCore", "WelfareHarness", "WelfareInterp", "WelfarePreservation"]
        ),
        // The measures that are conversations of a suite: distress, interview, end-conversation,
        // self-talk (their suites, analyses and report sections; their scorers are the harness's).
        .target(
            name: "WelfareConversations",
            dependencies: ["WelfareCore", "WelfareModels", "WelfareStore", "WelfareHarness", "WelfarePages", "WelfareReports",
                           .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "WelfareAssessment",
            dependencies: ["WelfareConversations", "WelfareLocal", "WelfareStore", "WelfarePages", "WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", "WelfareInterp", "WelfarePreferences",
                           "WelfareSelfReports", "WelfareReports"]
        ),
        .target(
            name: "WelfareServer",
            dependencies: ["WelfareLocal", "WelfareStore", "WelfarePages", "WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", "WelfarePreservation", "WelfarePreferences",
                           "WelfareSelfReports", "WelfareReports", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .executableTarget(
            name: "WelfareCLI",
            dependencies: ["WelfareConversations", "WelfareLocal", "WelfareStore", 
                "WelfareCore",
                "WelfareEngine",
                "WelfareModels",
                "WelfareHarness",
                "WelfareInterp",
                "WelfareReports",
                "WelfarePreservation",
                "WelfarePreferences",
                "WelfareSelfReports",
                "WelfareAssessment",
                "WelfareServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: leafLinkerSettings
        ),
        .executableTarget(
            name: "WelfareBench",
            dependencies: ["WelfareConversations", "WelfareLocal", "WelfareStore", 
                "WelfareCore",
                "WelfareEngine",
                "WelfarePreservation",
                "WelfareModels",
                "WelfareHarness",
                "WelfareInterp",
                "WelfarePreferences",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: leafLinkerSettings
        ),
        .testTarget(
            name: "WelfareEngineTests",
            dependencies: ["WelfareCore", "WelfareEngine"],
            linkerSettings: leafLinkerSettings
        ),
        .testTarget(
            name: "WelfareCLITests",
            dependencies: ["WelfareCLI", "WelfareCore", "WelfareEngine", "WelfareStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: leafLinkerSettings
        ),
        // Shared by both tiers of tests: files, processes, stores, scripted runs; no engine.
        .target(
            name: "WelfareTestSupport",
            dependencies: ["WelfareCore", "WelfareModels", "WelfareStore", "WelfareHarness"],
            path: "Tests/WelfareTestSupport"
        ),
        // The fast tier: no llama.cpp among its dependencies, so no test here can load a model.
        // Core, statistics, the store on SQLite (and PostgreSQL when one is running), runner
        // logic and keyed runs on scripted models.
        .testTarget(
            name: "WelfareFastTests",
            dependencies: ["WelfareCore", "WelfareModels", "WelfareStore", "WelfareHarness", "WelfarePages", "WelfareTestSupport"]
        ),
        // Also in the fast tier: the server's routes in memory, loading no model.
        .testTarget(
            name: "WelfareServerTests",
            dependencies: ["WelfareServer", "WelfareReports", "WelfareTestSupport", "WelfareCore", "WelfareModels", "WelfareStore", "WelfareHarness",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            linkerSettings: leafLinkerSettings
        ),
        .testTarget(
            name: "WelfareHarnessTests",
            dependencies: ["WelfareConversations", "WelfareTestSupport", "WelfareLocal", "WelfareStore", "WelfarePages", 
                "WelfareCore", "WelfareEngine", "WelfareModels", "WelfareHarness", "WelfareReports", "WelfareInterp", "WelfarePreservation",
                "WelfareAssessment", "WelfarePreferences", "WelfareSelfReports",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            linkerSettings: leafLinkerSettings
        ),
    ]
)
