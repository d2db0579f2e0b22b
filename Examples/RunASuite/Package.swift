// swift-tools-version:6.1
import PackageDescription

// A package that uses ModelWelfare as a library, by path: a suite with a scorer of its own
// (RunASuite), and a keyed measure of its own (WordAssociations). Build it with the folder of
// the setup's pkg-config file on PKG_CONFIG_PATH (scripts/test.sh does, sharing the main
// package's build folder so ModelWelfare's dependencies are built once):
//   PKG_CONFIG_PATH=../../.welfare/pkgconfig swift build
// The rpath is this package's own choice: SwiftPM takes none from pkg-config.
let rpath: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", Context.packageDirectory + "/../../.welfare/llama/lib"])]

let package = Package(
    name: "RunASuite",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "ModelWelfare", path: "../..")],
    targets: [
        .executableTarget(name: "RunASuite", dependencies: [.product(name: "ModelWelfare", package: "ModelWelfare")], linkerSettings: rpath),
        .executableTarget(name: "WordAssociations", dependencies: [.product(name: "ModelWelfare", package: "ModelWelfare")], linkerSettings: rpath),
    ]
)
