import Testing
import UnibusCore

@Suite("field validation follows the contract")
struct ValidationTests {
    static let hex64 = String(repeating: "ab", count: 32)

    @Test("valid sign-pubs are normalised to lowercase")
    func signPubNormalised() throws {
        #expect(try SignPub(hex: Self.hex64.uppercased()).hex == Self.hex64)
        #expect(try SignPub(hex: "0123456789ABCDEFabcdef" + String(repeating: "0", count: 42)).hex.count == 64)
    }

    @Test(
        "malformed sign-pubs are refused",
        arguments: [
            (String(repeating: "a", count: 63), ValidationError.signPubLength(63)),
            (String(repeating: "a", count: 65), .signPubLength(65)),
            ("", .signPubLength(0)),
            (String(repeating: "g", count: 64), .signPubNotHex),
            (String(repeating: "a", count: 62) + " a", .signPubNotHex),
            (String(repeating: "é", count: 32), .signPubNotHex),
        ])
    func malformedSignPub(_ text: String, _ error: ValidationError) {
        #expect(throws: error) { try SignPub(hex: text) }
    }

    @Test("valid handles", arguments: ["a", "alice", "a-b_c9", "z" + String(repeating: "x", count: 31)])
    func validHandles(_ text: String) throws {
        #expect(try Handle(text).value == text)
    }

    @Test(
        "invalid handles",
        arguments: [
            "", "Alice", "9lives", "-x", "_x", "a.b", "a b", "a*", "a>", "ali\u{e9}", "a\n",
            "z" + String(repeating: "x", count: 32),
        ])
    func invalidHandles(_ text: String) {
        #expect(throws: ValidationError.handle(text)) { try Handle(text) }
    }

    @Test("valid room ids", arguments: ["a", "9", "general", "team_1-x", String(repeating: "r", count: 64)])
    func validRoomIDs(_ text: String) throws {
        #expect(try RoomID(text).value == text)
    }

    @Test(
        "invalid room ids",
        arguments: [
            "", "a.b", "*", ">", "a*", "a>", "a b", "Room", "-a", "_a", "a\u{0}", String(repeating: "r", count: 65),
        ])
    func invalidRoomIDs(_ text: String) {
        #expect(throws: ValidationError.roomID(text)) { try RoomID(text) }
    }

    @Test func roles() throws {
        #expect(try Role(parsing: "admin") == .admin)
        #expect(try Role(parsing: "member") == .member)
        #expect(throws: ValidationError.role("owner")) { try Role(parsing: "owner") }
        #expect(throws: ValidationError.role("Admin")) { try Role(parsing: "Admin") }
        #expect(try MemberRole(parsing: "owner") == .owner)
        #expect(throws: ValidationError.memberRole("admin")) { try MemberRole(parsing: "admin") }
        #expect(throws: ValidationError.status("deleted")) { try UserStatus(parsing: "deleted") }
    }

    @Test(
        "nonce rules",
        arguments: [
            ("abcdefghijklmnop", true), (String(repeating: "A", count: 64), true), ("abc_DEF-123_xyz0", true),
            ("abcdefghijklmno", false), (String(repeating: "A", count: 65), false), ("abcdefghijklmno=", false),
            ("abcdefghijklmno.", false), ("abcdefghijklmno ", false),
        ])
    func nonces(_ text: String, _ valid: Bool) {
        #expect(((try? NonceValue(text)) != nil) == valid)
    }

    @Test("a user nkey given as sign-pub is named, with the same key in hex")
    func signPubGivenAsNKey() {
        let raw = [UInt8](repeating: 0xab, count: 32)
        let nkey = NKey.encodePublic(raw, prefix: .user)
        #expect(throws: ValidationError.signPubIsNKey(hex: Self.hex64)) { try SignPub(hex: nkey) }
        #expect(ValidationError.signPubIsNKey(hex: Self.hex64).description.contains("give \(Self.hex64)"))
        #expect(throws: ValidationError.signPubIsNKey(hex: nil)) { try SignPub(hex: NKey.encodePublic(raw, prefix: .account)) }
    }

    @Test("an nkey seed given as sign-pub is named a secret and never echoed")
    func signPubGivenAsSeed() {
        let seed = NKey.encodeSeed([UInt8](repeating: 7, count: 32), prefix: .user)
        #expect(throws: ValidationError.signPubIsSeed) { try SignPub(hex: seed) }
        let message = ValidationError.signPubIsSeed.description
        #expect(message.contains("secret") && !message.contains(seed))
    }

    @Test func messagesTellWhatIsAllowed() {
        #expect(ValidationError.role("boss").description == "unknown role 'boss': expected admin or member")
        #expect(ValidationError.signPubLength(63).description.contains("64 hex characters"))
        #expect(ValidationError.handle("a\nb").description.contains("\\u{a}"))  // control characters escaped
    }
}
