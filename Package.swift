// swift-tools-version:6.1
import PackageDescription

// llama.cpp comes from PyPI's llama-cpp-python, installed by scripts/setup.sh into a cache
// folder and linked at .welfare/llama/{include,lib}; nothing of llama.cpp is in the repo.
let llamaRoot = Context.packageDirectory + "/.welfare/llama"
// $ORIGIN first: an installed binary (scripts/install.sh) finds the libraries beside it.
let llamaLinkerFlags: [String] = [
    "-L\(llamaRoot)/lib",
    "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN",
    "-Xlinker", "-rpath", "-Xlinker", "\(llamaRoot)/lib",
]
let llamaHeaderFlags: [String] = ["-Xcc", "-I\(llamaRoot)/include"]

let package = Package(
    name: "ModelWelfare",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "welfare", targets: ["WelfareCLI"]),
        .executable(name: "welfare-bench", targets: ["WelfareBench"]),
        .library(name: "WelfareEngine", targets: ["WelfareEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        .systemLibrary(name: "CLlama", path: "Sources/CLlama"),
        .target(
            name: "WelfareEngine",
            dependencies: ["CLlama", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)],
            linkerSettings: [.unsafeFlags(llamaLinkerFlags)]
        ),
        .target(
            name: "WelfareModels",
            dependencies: [
                "WelfareEngine",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .target(
            name: "WelfareHarness",
            dependencies: [
                "WelfareModels",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Suites")],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .target(
            name: "WelfareInterp",
            dependencies: ["WelfareEngine", "WelfareHarness", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Data")],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .target(
            name: "WelfarePreservation",
            dependencies: ["WelfareEngine", "WelfareModels", "WelfareHarness", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Yams", package: "Yams")],
            resources: [.copy("Data")],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .target(
            name: "WelfareReports",
            dependencies: ["WelfareHarness", "WelfareInterp", "WelfarePreservation"],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .executableTarget(
            name: "WelfareCLI",
            dependencies: [
                "WelfareEngine",
                "WelfareModels",
                "WelfareHarness",
                "WelfareInterp",
                "WelfareReports",
                "WelfarePreservation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .executableTarget(
            name: "WelfareBench",
            dependencies: [
                "WelfareEngine",
                "WelfarePreservation",
                "WelfareModels",
                "WelfareHarness",
                "WelfareInterp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .testTarget(
            name: "WelfareEngineTests",
            dependencies: ["WelfareEngine"],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .testTarget(
            name: "WelfareHarnessTests",
            dependencies: [
                "WelfareModels", "WelfareHarness", "WelfareReports", "WelfareInterp", "WelfarePreservation",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
    ]
)
