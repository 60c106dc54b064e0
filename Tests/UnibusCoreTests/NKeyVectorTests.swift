import Foundation
import Testing
import UnibusCore

/// Vectors written by an independent implementation (`nkeys` from PyPI) via scripts/gen-nkey-vectors.py.
struct NKeyVectors: Decodable {
    struct Valid: Decodable {
        let kind: String, seed_hex: String, public_hex: String, seed: String, `public`: String
        let message_hex: String, signature_hex: String
    }
    struct Invalid: Decodable { let text: String, why: String }
    let valid: [Valid]
    let invalid_public: [Invalid]
    let invalid_seed: [Invalid]
    let wrong_prefix_for_user: [String]

    static let loaded: NKeyVectors = {
        let url = Bundle.module.url(forResource: "Fixtures/nkey-vectors", withExtension: "json")!
        return try! JSONDecoder().decode(NKeyVectors.self, from: Data(contentsOf: url))
    }()
}

extension NKey.Prefix {
    init(kind: String) {
        switch kind {
        case "user": self = .user
        case "account": self = .account
        case "server": self = .server
        case "cluster": self = .cluster
        default: self = .operator_
        }
    }
}

@Suite("nkey encoding against the nkeys reference vectors")
struct NKeyVectorTests {
    @Test func fileHoldsEnoughVectors() {
        #expect(NKeyVectors.loaded.valid.count >= 50)
        #expect(NKeyVectors.loaded.invalid_public.count >= 5)
    }

    @Test("public key encoding matches", arguments: NKeyVectors.loaded.valid.indices)
    func publicKeyEncodingMatches(_ i: Int) throws {
        let v = NKeyVectors.loaded.valid[i]
        let raw = Hex.decode(v.public_hex)!
        #expect(NKey.encodePublic(raw, prefix: NKey.Prefix(kind: v.kind)) == v.public)
        let decoded = try NKey.decodePublic(v.public)
        #expect(decoded.raw == raw)
        #expect(decoded.prefix == NKey.Prefix(kind: v.kind))
    }

    @Test("seed encoding, key derivation and signatures match", arguments: NKeyVectors.loaded.valid.indices)
    func seedEncodingMatches(_ i: Int) throws {
        let v = NKeyVectors.loaded.valid[i]
        let seed = Hex.decode(v.seed_hex)!
        #expect(NKey.encodeSeed(seed, prefix: NKey.Prefix(kind: v.kind)) == v.seed)
        let decoded = try NKey.decodeSeed(v.seed)
        #expect(decoded.seed == seed)
        #expect(decoded.prefix == NKey.Prefix(kind: v.kind))
        let pair = try UserKeyPair(seed: seed)
        #expect(pair.signPub.hex == v.public_hex)
        #expect(Hex.encode(pair.sign(Hex.decode(v.message_hex)!)) == v.signature_hex)
    }

    @Test("user key pairs give the reference U and SU strings")
    func userKeyPairStrings() throws {
        for v in NKeyVectors.loaded.valid where v.kind == "user" {
            let pair = try UserKeyPair(seed: Hex.decode(v.seed_hex)!)
            #expect(pair.nkey == v.public)
            #expect(pair.nkeySeed == v.seed)
            #expect(try SignPub(hex: v.public_hex.uppercased()).nkey == v.public)
        }
    }

    @Test("corrupted public keys are refused", arguments: NKeyVectors.loaded.invalid_public.map(\.text))
    func corruptedPublicKeysAreRefused(_ text: String) {
        #expect(throws: NKeyError.self) { try NKey.decodePublic(text) }
        #expect(!NKey.isUserPublicKey(text))
    }

    @Test("corrupted seeds are refused", arguments: NKeyVectors.loaded.invalid_seed.map(\.text))
    func corruptedSeedsAreRefused(_ text: String) {
        #expect(throws: NKeyError.self) { try NKey.decodeSeed(text) }
    }

    @Test("keys of other roles are not user keys", arguments: NKeyVectors.loaded.wrong_prefix_for_user)
    func otherRolesAreNotUsers(_ text: String) {
        #expect(throws: NKeyError.invalidPrefix) { try NKey.decodeUser(text) }
    }

    @Test func aSeedIsNotAPublicKeyAndViceVersa() {
        let v = NKeyVectors.loaded.valid[0]
        #expect(throws: NKeyError.self) { try NKey.decodePublic(v.seed) }
        #expect(throws: NKeyError.self) { try NKey.decodeSeed(v.public) }
    }

    @Test func keyPairDescriptionHidesTheSeed() throws {
        let v = NKeyVectors.loaded.valid[0]
        let pair = try UserKeyPair(seed: Hex.decode(v.seed_hex)!)
        #expect(!"\(pair)".contains(v.seed))
        #expect(!"\(pair)".contains(v.seed_hex))
        #expect(throws: NKeyError.invalidLength(31)) { try UserKeyPair(seed: [UInt8](repeating: 1, count: 31)) }
    }
}
