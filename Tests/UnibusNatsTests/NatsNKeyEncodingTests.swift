import Foundation
import Testing
import UnibusNats

@Suite("nkey seed and test encoding")
struct NatsNKeyEncodingTests {
    /// Seed bytes 0…31; expected values from python `nkeys` 0.x and PyNaCl.
    static let knownSeed = [UInt8](0..<32)

    @Test func publicKeyMatchesPythonNKeys() throws {
        let user = try TestNKey(seed: Self.knownSeed)
        #expect(user.publicKey == "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK")
        let hex = user.seed.publicKeyBytes.map { String(format: "%02x", $0) }.joined()
        #expect(hex == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
    }

    @Test func seedNeverPrintsItsBytes() throws {
        let seed = try NatsNKeySeed(Self.knownSeed)
        var options = NatsConnectOptions(servers: ["nats://127.0.0.1:1"])
        options.nkey = NatsNKeyCredentials(publicKey: "UAB2", seed: seed)
        var dumped = ""
        dump(options, to: &dumped)
        let renderings = ["\(seed)", String(reflecting: seed), "\(options)", String(reflecting: options), dumped]
        for text in renderings {
            #expect(!text.contains("0, 1, 2, 3"), "seed bytes leaked: \(text)")
            #expect(!text.contains("000102030405"), "seed bytes leaked: \(text)")
        }
        #expect("\(seed)" == "<nkey seed, 32 bytes>")
    }

    @Test func seedOfWrongLengthIsRefused() {
        #expect {
            _ = try NatsNKeySeed([1, 2, 3])
        } throws: { error in
            (error as? NatsError)?.description
                == "read nkey seed: an nkey seed is 32 raw bytes (ed25519); got 3 (natsStatus 16)"
        }
    }
}
