import Synchronization

/// Decides whether 32 bytes are an ed25519 public key that can be trusted: the canonical
/// encoding of a curve point of large order.
///
/// Source: RFC 8032 §5.1.3 (decoding: recover x from y; reject y ≥ p, x = 0 with the sign bit
/// set, and a y with no square root for x) followed by a small-order test: the point times 8
/// (three doublings, RFC 8032 §5.1.4 formulas in extended coordinates) must not be the identity.
/// Field arithmetic is mod p = 2^255 − 19 on five 51-bit limbs. Not constant-time: it only ever
/// sees public keys.
public enum Ed25519PointCheck {
    public enum Verdict: Hashable, Sendable {
        /// A canonical point of large order: a key someone holds the secret of.
        case largeOrder
        /// y ≥ p, or x = 0 with the sign bit set.
        case notCanonical
        /// No x satisfies the curve equation for this y.
        case notOnCurve
        /// A point of order 1, 2, 4 or 8: signatures for it can be forged without a secret.
        case smallOrder(Int)
    }

    /// Checks a 32-byte encoding (any other length is `.notOnCurve`).
    public static func check(_ bytes: [UInt8]) -> Verdict {
        guard bytes.count == 32 else { return .notOnCurve }
        let sign = bytes[31] >> 7
        // y ≥ p: bytes ed..ff ff…ff 7f (top bit ignored).
        if bytes[0] >= 0xed, bytes[1..<31].allSatisfy({ $0 == 0xff }), bytes[31] & 0x7f == 0x7f { return .notCanonical }
        let y = Fe(bytes)
        let yy = y.squared
        let u = yy - .one, v = Fe.d * yy + .one
        let v3 = v.squared * v
        var x = u * v3 * (u * v3.squared * v).pow22523
        let vxx = v * x.squared
        if vxx != u {
            guard vxx == .zero - u else { return .notOnCurve }
            x = x * Fe.sqrtMinusOne
        }
        if x.isZero && sign == 1 { return .notCanonical }
        if x.isNegative != (sign == 1) { x = .zero - x }
        // Extended coordinates (X:Y:Z:T), Z = 1; the identity is X = 0, Y = Z.
        var p = (x: x, y: y, z: Fe.one)
        for order in [1, 2, 4, 8] {
            if p.x.isZero && p.y == p.z { return .smallOrder(order) }
            // dbl-2008-hwcd with a = −1.
            let a = p.x.squared, b = p.y.squared, c = p.z.squared + p.z.squared
            let h = a + b, e = h - (p.x + p.y).squared, g = a - b, f = c + g
            p = (e * f, g * h, f * g)
        }
        return .largeOrder
    }

    /// `check`, remembered per key: the ACL is rendered from every user on every change.
    public static func cachedCheck(_ bytes: [UInt8]) -> Verdict {
        if let known = memo.withLock({ $0[bytes] }) { return known }
        let verdict = check(bytes)
        memo.withLock {
            if $0.count >= 100_000 { $0.removeAll() }
            $0[bytes] = verdict
        }
        return verdict
    }
    private static let memo = Mutex<[[UInt8]: Verdict]>([:])
}

/// An element of GF(2^255 − 19): five limbs of 51 bits (a limb may briefly exceed 51 bits).
struct Fe: Equatable {
    var l: (UInt64, UInt64, UInt64, UInt64, UInt64)
    static let mask: UInt64 = (1 << 51) - 1

    init(_ l0: UInt64, _ l1: UInt64 = 0, _ l2: UInt64 = 0, _ l3: UInt64 = 0, _ l4: UInt64 = 0) {
        l = (l0, l1, l2, l3, l4)
    }

    /// From 32 little-endian bytes, the top bit ignored.
    init(_ bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[i * 8 + $1]) << (8 * $1) } }
        let w = (word(0), word(1), word(2), word(3))
        self.init(
            w.0 & Self.mask, (w.0 >> 51 | w.1 << 13) & Self.mask, (w.1 >> 38 | w.2 << 26) & Self.mask,
            (w.2 >> 25 | w.3 << 39) & Self.mask, (w.3 >> 12) & Self.mask)
    }

    static let zero = Fe(0), one = Fe(1)
    /// d = −121665 / 121666.
    static let d = zero - Fe(121_665) * Fe(121_666).power(pMinus2)
    /// 2^((p − 1) / 4), a square root of −1.
    static let sqrtMinusOne = Fe(2).power(pMinus1Over4)
    // Exponents as little-endian 64-bit words.
    static let pMinus2: [UInt64] = [~20, ~0, ~0, ~0 >> 1]
    static let pMinus1Over4: [UInt64] = [~4, ~0, ~0, ~0 >> 3]

    /// Carries so that every limb is below 2^51 plus a little (the value is unchanged mod p).
    static func carried(_ r: (UInt128, UInt128, UInt128, UInt128, UInt128)) -> Fe {
        var r = r
        let m = UInt128(mask)
        r.1 += r.0 >> 51; r.0 &= m
        r.2 += r.1 >> 51; r.1 &= m
        r.3 += r.2 >> 51; r.2 &= m
        r.4 += r.3 >> 51; r.3 &= m
        r.0 += (r.4 >> 51) * 19; r.4 &= m
        r.1 += r.0 >> 51; r.0 &= m
        return Fe(UInt64(r.0), UInt64(r.1), UInt64(r.2), UInt64(r.3), UInt64(r.4))
    }

    static func + (a: Fe, b: Fe) -> Fe {
        carried((UInt128(a.l.0 + b.l.0), UInt128(a.l.1 + b.l.1), UInt128(a.l.2 + b.l.2), UInt128(a.l.3 + b.l.3), UInt128(a.l.4 + b.l.4)))
    }

    /// a + 4p − b: every limb of 4p exceeds any carried limb of b.
    static func - (a: Fe, b: Fe) -> Fe {
        let p0: UInt64 = 4 * ((1 << 51) - 19), pi: UInt64 = 4 * mask
        return carried(
            (
                UInt128(a.l.0 + p0 - b.l.0), UInt128(a.l.1 + pi - b.l.1), UInt128(a.l.2 + pi - b.l.2),
                UInt128(a.l.3 + pi - b.l.3), UInt128(a.l.4 + pi - b.l.4)
            ))
    }

    static func * (a: Fe, b: Fe) -> Fe {
        let (a0, a1, a2, a3, a4) = (UInt128(a.l.0), UInt128(a.l.1), UInt128(a.l.2), UInt128(a.l.3), UInt128(a.l.4))
        let (b0, b1, b2, b3, b4) = (UInt128(b.l.0), UInt128(b.l.1), UInt128(b.l.2), UInt128(b.l.3), UInt128(b.l.4))
        // 2^255 ≡ 19: terms past limb 4 wrap around times 19.
        let (c1, c2, c3, c4) = (b1 * 19, b2 * 19, b3 * 19, b4 * 19)
        return carried(
            (
                a0 * b0 + a1 * c4 + a2 * c3 + a3 * c2 + a4 * c1,
                a0 * b1 + a1 * b0 + a2 * c4 + a3 * c3 + a4 * c2,
                a0 * b2 + a1 * b1 + a2 * b0 + a3 * c4 + a4 * c3,
                a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + a4 * c4,
                a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0
            ))
    }

    var squared: Fe { self * self }

    /// self^e, e as little-endian 64-bit words (square and multiply, most significant bit first).
    func power(_ e: [UInt64]) -> Fe {
        var r = Fe.one
        for word in e.reversed() {
            for bit in (0..<64).reversed() {
                r = r.squared
                if word >> UInt64(bit) & 1 == 1 { r = r * self }
            }
        }
        return r
    }

    /// self^(2^n).
    func squared(times n: Int) -> Fe { (0..<n).reduce(self) { r, _ in r.squared } }

    /// self^((p − 5) / 8) = self^(2^252 − 3), by ref10's addition chain (252 squarings, 11 products).
    var pow22523: Fe {
        let z9 = self * squared.squared(times: 2), z11 = squared * z9
        let e5 = z9 * z11.squared  // exponent 2^5 − 1, and so on
        let e10 = e5.squared(times: 5) * e5, e20 = e10.squared(times: 10) * e10
        let e50 = (e20.squared(times: 20) * e20).squared(times: 10) * e10
        let e100 = e50.squared(times: 50) * e50
        return ((e100.squared(times: 100) * e100).squared(times: 50) * e50).squared(times: 2) * self
    }

    /// The limbs of the value reduced to 0 ..< p.
    var canonical: [UInt64] {
        let c = Fe.carried((UInt128(l.0), UInt128(l.1), UInt128(l.2), UInt128(l.3), UInt128(l.4)))
        var h = [c.l.0, c.l.1, c.l.2, c.l.3, c.l.4]
        // Now h < 2^255 + small, so h ≥ p exactly when h + 19 carries out of bit 255.
        var q = (h[0] + 19) >> 51
        for i in 1..<5 { q = (h[i] + q) >> 51 }
        h[0] += 19 * q
        for i in 0..<4 {
            h[i + 1] += h[i] >> 51
            h[i] &= Fe.mask
        }
        h[4] &= Fe.mask
        return h
    }

    var isZero: Bool { canonical.allSatisfy { $0 == 0 } }
    /// RFC 8032: x is "negative" when its canonical value is odd.
    var isNegative: Bool { canonical[0] & 1 == 1 }
    static func == (a: Fe, b: Fe) -> Bool { a.canonical == b.canonical }
}
