import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// Keys classified by independent sources (C2SP/CCTV's ed25519 vectors, the RFC 8032 reference
/// decoding in Python, libsodium) via scripts/gen-ed25519-vectors.py.
struct Ed25519KeyVector: Decodable, CustomTestStringConvertible, Sendable {
    let key: String, expect: String, order: Int?, origin: String
    var testDescription: String { "\(key.prefix(12))… \(expect) (\(origin))" }

    static let all: [Ed25519KeyVector] = {
        struct File: Decodable { let vectors: [Ed25519KeyVector] }
        let url = Bundle.module.url(forResource: "Fixtures/ed25519-key-vectors", withExtension: "json")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }()

    var verdict: Ed25519PointCheck.Verdict {
        switch expect {
        case "large_order": .largeOrder
        case "not_canonical": .notCanonical
        case "not_on_curve": .notOnCurve
        default: .smallOrder(order ?? 0)
        }
    }
}

@Suite("ed25519 public key check")
struct Ed25519PointCheckTests {
    @Test func fileCoversEveryCase() {
        let all = Ed25519KeyVector.all
        #expect(all.count(where: { $0.expect == "small_order" }) == 8)
        #expect(all.count(where: { $0.expect == "not_canonical" }) >= 38)
        #expect(all.count(where: { $0.expect == "large_order" }) >= 20)
        #expect(all.count(where: { $0.expect == "not_on_curve" }) >= 20)
    }

    @Test(arguments: Ed25519KeyVector.all)
    func classifies(_ vector: Ed25519KeyVector) throws {
        let key = try SignPub(hex: vector.key)
        #expect(Ed25519PointCheck.check(key.bytes) == vector.verdict)
        if vector.expect == "large_order" {
            #expect(key.weakness == nil)
            #expect(try SignPub(registering: vector.key) == key)
        } else {
            #expect(throws: ValidationError.self) { try SignPub(registering: vector.key) }
        }
    }

    @Test func generatedKeysAreLargeOrder() {
        for i in 0..<50 { #expect(Fixture.keyPair(i).signPub.weakness == nil) }
    }

    @Test func messagesSayWhy() {
        let identity = "01" + String(repeating: "0", count: 62)
        let order8 = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
        let yIsP = "ed" + String(repeating: "f", count: 60) + "7f"
        #expect(throws: ValidationError.signPubSmallOrder(identity, order: 1)) { try SignPub(registering: identity) }
        let small = #expect(throws: ValidationError.self) { try SignPub(registering: order8) }
        #expect(small?.description.contains("small-order point (order 8): signatures for it can be forged") == true)
        let alias = #expect(throws: ValidationError.self) { try SignPub(registering: yIsP) }
        #expect(alias?.description.contains("not the canonical encoding") == true)
        // Reading a stored weak key still works: only entry points refuse it.
        #expect((try? SignPub(hex: order8)) != nil)
    }

    /// About 10 µs a key in a release build; debug builds are far slower.
    @Test func isFastEnough() {
        let key = Fixture.keyPair(7).signPub.bytes
        let start = ContinuousClock.now
        for _ in 0..<200 { _ = Ed25519PointCheck.check(key) }
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
