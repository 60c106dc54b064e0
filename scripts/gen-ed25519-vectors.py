#!/usr/bin/env python3
"""Write ed25519 public-key test vectors for Ed25519PointCheck from independent sources.

Usage: python3 scripts/gen-ed25519-vectors.py CCTV_ED25519VECTORS_JSON CCTV_COMMIT \
           > Tests/UnibusCoreTests/Fixtures/ed25519-key-vectors.json
Needs: PyNaCl (in the test venv through nkeys).

Sources, each cross-checked against the others:
- every distinct public key `A` of C2SP/CCTV ed25519/ed25519vectors.json (Copyright 2019 Google
  LLC, 2022 Filippo Valsorda; BSD-3-Clause), with its `low_order_A`/`non_canonical_A` flags;
- the RFC 8032 section 6 reference decoding (transcribed below, pure Python integers) plus
  multiplication by 8, which classifies every key and must agree with the CCTV flags;
- all 38 encodings with y >= p (both sign bits);
- libsodium through PyNaCl: keys of random seeds (must pass, and libsodium must call them valid
  points), and random bytes the reference decoding finds no point for (must fail).
Randomness comes from a fixed PRNG so the file is reproducible. These keys are test data only.
"""
import json
import random
import sys

import nacl.bindings
import nacl.signing

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):  # RFC 8032 section 6, extended coordinates
    pa, pb = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c, d = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = pb - pa, d - c, d + c, pb + pa
    return (e * f, g * h, f * g, e * h)


def is_identity(pt):
    return pt[0] % P == 0 and (pt[1] - pt[2]) % P == 0


def classify(key: bytes):
    """RFC 8032 section 5.1.3 decoding, then the order if it is 1, 2, 4 or 8."""
    y = int.from_bytes(key, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return ("not_canonical", None)
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        if sign:
            return ("not_canonical", None)
        x = 0
    else:
        x = pow(x2, (P + 3) // 8, P)
        if (x * x - x2) % P != 0:
            x = x * SQRT_M1 % P
        if (x * x - x2) % P != 0:
            return ("not_on_curve", None)
        if (x & 1) != sign:
            x = P - x
    pt = (x, y, 1, x * y % P)
    for order in (1, 2, 4, 8):
        if is_identity(pt):
            return ("small_order", order)
        pt = point_add(pt, pt)
    return ("large_order", None)


def entry(key: bytes, origin: str):
    expect, order = classify(key)
    e = {"key": key.hex(), "expect": expect, "origin": origin}
    if order is not None:
        e["order"] = order
    return e


def main():
    path, commit = sys.argv[1], sys.argv[2]
    flags = {}
    for v in json.load(open(path)):
        flags.setdefault(v["key"], set()).update(f for f in (v["flags"] or []) if f.endswith("_A"))
    out = []
    for key, fl in sorted(flags.items()):
        e = entry(bytes.fromhex(key), f"C2SP/CCTV ed25519vectors.json {sorted(fl)}")
        # Cross-check: CCTV's non-canonical and low-order keys are exactly the ones refused here.
        if "non_canonical_A" in fl:
            assert e["expect"] == "not_canonical", e
        elif "low_order_A" in fl:
            assert e["expect"] == "small_order", e
        else:
            assert e["expect"] == "large_order", e  # includes mixed-order keys (large order)
        out.append(e)
    for offset in range(19):
        for sign in (0, 0x80):
            key = bytearray((P + offset).to_bytes(32, "little"))
            key[31] |= sign
            if key.hex() not in flags:
                out.append(entry(bytes(key), "y >= p (y = p + %d)" % offset))
                assert out[-1]["expect"] == "not_canonical"
    rng = random.Random(8032)
    for _ in range(20):
        seed = bytes(rng.getrandbits(8) for _ in range(32))
        key = bytes(nacl.signing.SigningKey(seed).verify_key)
        assert nacl.bindings.crypto_core_ed25519_is_valid_point(key)
        out.append(entry(key, "PyNaCl (libsodium) key of a random seed"))
        assert out[-1]["expect"] == "large_order"
    found = 0
    while found < 20:
        key = bytes(rng.getrandbits(8) for _ in range(32))
        if classify(key)[0] != "not_on_curve":
            continue
        assert not nacl.bindings.crypto_core_ed25519_is_valid_point(key)
        out.append(entry(key, "random bytes with no curve point"))
        found += 1
    doc = {
        "generator": "scripts/gen-ed25519-vectors.py, PyNaCl %s, C2SP/CCTV %s" % (nacl.__version__, commit),
        "license": "keys from C2SP/CCTV ed25519vectors.json: Copyright 2019 Google LLC, 2022 Filippo Valsorda, BSD-3-Clause",
        "vectors": out,
    }
    json.dump(doc, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
