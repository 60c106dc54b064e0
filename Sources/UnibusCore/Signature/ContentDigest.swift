import Crypto
public import Foundation

/// RFC 9530 `Content-Digest` with sha-256.
public enum ContentDigest {
    /// `sha-256=:<base64>:` for a body.
    public static func header(for body: some DataProtocol) -> String {
        "sha-256=:\(Data(SHA256.hash(data: body)).base64EncodedString()):"
    }

    /// The raw sha-256 digest of a body.
    public static func sha256(_ body: some DataProtocol) -> Data { Data(SHA256.hash(data: body)) }
}
