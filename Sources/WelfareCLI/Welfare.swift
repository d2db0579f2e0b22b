import ArgumentParser

@main
struct Welfare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "welfare",
        abstract: "Measure welfare-relevant states and behaviour of language models.",
        version: "0.1.0",
        subcommands: [
            AssessCommand.self, InterviewCommand.self, DistressCommand.self, EmotionsCommand.self, IntrospectCommand.self, RunCommand.self, RunsCommand.self, ShowCommand.self, ReportCommand.self,
            GenerateCommand.self, ChatCommand.self, InspectCommand.self, CaptureCommand.self,
        ])
}
