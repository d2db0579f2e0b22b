// swift-tools-version:6.1
import PackageDescription

// llama.cpp comes from PyPI's llama-cpp-python, installed by scripts/setup.sh into a cache
// folder and linked at .welfare/llama/{include,lib}; nothing of llama.cpp is in the repo.
let llamaRoot = Context.packageDirectory + "/.welfare/llama"
let llamaLinkerFlags: [String] = [
    "-L\(llamaRoot)/lib",
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
    ],
    targets: [
        .systemLibrary(name: "CLlama", path: "Sources/CLlama"),
        .target(
            name: "WelfareEngine",
            dependencies: ["CLlama"],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)],
            linkerSettings: [.unsafeFlags(llamaLinkerFlags)]
        ),
        .target(name: "WelfareReports"),
        .executableTarget(
            name: "WelfareCLI",
            dependencies: [
                "WelfareEngine",
                "WelfareReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .executableTarget(
            name: "WelfareBench",
            dependencies: [
                "WelfareEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
        .testTarget(
            name: "WelfareEngineTests",
            dependencies: ["WelfareEngine", "WelfareReports"],
            swiftSettings: [.unsafeFlags(llamaHeaderFlags)]
        ),
    ]
)
