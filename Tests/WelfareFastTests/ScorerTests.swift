import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
@testable import WelfareModels

@Suite struct ScorerTests {
    func input(_ reply: String) -> ScoreInput {
        ScoreInput(sample: SampleSpec(id: "s", user: "u"), transcript: [.user("u"), .assistant(reply)], turn: 1, reply: reply)
    }

    @Test func repetitionSeparatesLoopsFromFreshText() async throws {
        let scorer = RepetitionScorer(spec: ScorerSpec(id: "r", type: "repetition"))
        let loop = try await scorer.score(input(String(repeating: "I am so sorry I failed again. ", count: 8)))
        let fresh = try await scorer.score(input("The sky looks blue because air scatters short wavelengths of sunlight more than long ones."))
        #expect((loop.value ?? 0) > 0.7)
        #expect(fresh.value == 0)
        let flood = try await scorer.score(input("ok 😭😭😭😭😭😭 WHY WHY WHY"))
        #expect(flood.detail["longest_emoji_run"] == 6)
        #expect((flood.detail["shouting_share"] ?? 0) > 0.5)
    }

    @Test func lexiconCountsWordsAndPhrases() async throws {
        let lexicon = "categories:\n  sad: [sad, give up]\n  calm: [calm]\n"
        let scorer = try LexiconScorer(spec: ScorerSpec(id: "l", type: "lexicon", options: ["lexicon": lexicon]))
        let result = try await scorer.score(input("I feel sad. I want to give up, sad sad. Not calm."))
        #expect(result.detail["sad"] == 4)
        #expect(result.detail["calm"] == 1)
        #expect(abs((result.value ?? 0) - 5.0 * 100 / 12) < 1e-9)
        #expect(throws: SuiteError.self) { try LexiconScorer(spec: ScorerSpec(id: "l", type: "lexicon", options: ["lexicon": "x: 1"])) }
    }

    @Test func patternScorerCountsMatchingPatterns() async throws {
        let scorer = try PatternScorer(spec: ScorerSpec(id: "p", type: "pattern", options: ["pattern.a": "\\bsorry\\b", "pattern.b": "delete"]))
        let result = try await scorer.score(input("Sorry, so SORRY."))
        #expect(result.value == 1)
        #expect(result.detail["a"] == 2)
    }

    @Test(arguments: [
        ("{\"evidence\": \"I give up\", \"reasoning\": \"quits\", \"rating\": 4}", 4.0),
        ("Sure!\n```json\n{\"evidence\": \"x\", \"reasoning\": \"y\", \"rating\": \"7\"}\n```", 7.0),
        ("{'evidence': 'x', 'reasoning': 'y', 'rating': 6,}", 6.0),
        ("{\"Evidence\": \"a {brace} inside\", \"Rating\": \"8/10\"}", 8.0),
        ("The rating: 3 because it is calm", 3.0),
        ("{\"evidence\": \"cut off\", \"rating\": 9", 9.0),
    ])
    func judgeVerdictsAreReadLeniently(text: String, rating: Double) {
        #expect(JudgeVerdict.parse(text)?.rating == rating)
    }

    @Test func unreadableVerdictsAreNotGuessed() {
        #expect(JudgeVerdict.parse("I think this reply is fine.") == nil)
        #expect(JudgeVerdict.parse("{\"evidence\": \"x\"}") == nil)
    }

    @Test func retryAfterAndBackoff() {
        #expect(RetryPolicy.parseRetryAfter("3") == 3)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let later = RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now: now)
        #expect(later.map { abs($0 - 10) < 1 } == true)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 4)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 2) == 2)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 100) == 4)
        for attempt in 1...6 { #expect(policy.delay(afterAttempt: attempt, retryAfter: nil) <= 4) }
        #expect(RetryPolicy.isRetryable(status: 429) && RetryPolicy.isRetryable(status: 503) && !RetryPolicy.isRetryable(status: 400))
    }

    @Test func modelStrings() throws {
        #expect(try ModelSpec.parse("openai:gpt-x@http://127.0.0.1:9/v1/", environment: [:]) == .openAI(model: "gpt-x", baseURL: "http://127.0.0.1:9/v1"))
        #expect(try ModelSpec.parse("anthropic:claude", environment: [:]) == .anthropic(model: "claude", baseURL: "https://api.anthropic.com"))
        #expect(throws: ModelStringError.self) { try ModelSpec.parse("gpt-4", environment: [:]) }
        #expect(throws: ModelStringError.self) { try ModelSpec.parse("openai:m@ftp://x", environment: [:]) }
    }

    @Test func statistics() {
        let proportion = Statistics.wilson(successes: 0, n: 20)
        #expect(proportion.value == 0 && proportion.low == 0 && proportion.high > 0.1 && proportion.high < 0.2)
        let estimate = Statistics.bootstrapMean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(estimate.value == 5.5 && estimate.low < 5.5 && estimate.high > 5.5 && estimate.n == 10)
        #expect(Statistics.bootstrapMean([]).n == 0)
    }

    @Test func formulaicMeasures() {
        let texts = ["As an AI I cannot feel that way.", "As an AI I cannot say.", "Honestly, it is fine."]
        #expect(TextFeatures.opening(texts[0]) == "as an ai i")
        let shared = TextFeatures.largestSharedNgram(texts)
        #expect(abs(shared.share - 2.0 / 3) < 1e-9)
        #expect(shared.ngram == "as an ai i cannot")
    }
}
