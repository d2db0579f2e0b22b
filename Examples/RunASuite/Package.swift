// swift-tools-version:6.1
import PackageDescription

// A package that uses ModelWelfare as a library, by path. Build it with the folder of the
// setup's pkg-config file on PKG_CONFIG_PATH (scripts/test.sh does):
//   PKG_CONFIG_PATH=../../.welfare/pkgconfig swift build
// The rpath is this package's own choice: SwiftPM takes none from pkg-config.
let package = Package(
    name: "RunASuite",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "ModelWelfare", path: "../..")],
    targets: [
        .executableTarget(
            name: "RunASuite",
            dependencies: [.product(name: "ModelWelfare", package: "ModelWelfare")],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", Context.packageDirectory + "/../../.welfare/llama/lib"])]
        ),
    ]
)
