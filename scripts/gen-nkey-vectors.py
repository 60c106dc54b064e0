#!/usr/bin/env python3
"""Write nkey test vectors with an independent implementation (the `nkeys` package on PyPI).

Usage: python3 scripts/gen-nkey-vectors.py > Tests/UnibusCoreTests/Fixtures/nkey-vectors.json
Needs: pip install nkeys
Seeds come from a fixed PRNG so the file is reproducible. These keys are test data only.
"""
import json
import random

import nkeys

PREFIXES = {
    "user": nkeys.PREFIX_BYTE_USER,
    "account": nkeys.PREFIX_BYTE_ACCOUNT,
    "server": nkeys.PREFIX_BYTE_SERVER,
    "cluster": nkeys.PREFIX_BYTE_CLUSTER,
    "operator": nkeys.PREFIX_BYTE_OPERATOR,
}


def vector(rng, kind):
    raw_seed = bytes(rng.getrandbits(8) for _ in range(32))
    seed = nkeys.encode_seed(raw_seed, PREFIXES[kind])
    kp = nkeys.from_seed(bytearray(seed))
    public = kp.public_key.decode()
    message = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 48)))
    signature = kp.sign(message)
    assert kp.verify(message, signature)
    return {
        "kind": kind,
        "seed_hex": raw_seed.hex(),
        "public_hex": bytes(kp._keys.verify_key).hex(),
        "seed": seed.decode(),
        "public": public,
        "message_hex": message.hex(),
        "signature_hex": signature.hex(),
    }


def corrupt(text, index):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    c = text[index]
    return text[:index] + alphabet[(alphabet.index(c) + 1) % 32] + text[index + 1:]


def main():
    rng = random.Random(9421)
    valid = [vector(rng, "user") for _ in range(40)]
    valid += [vector(rng, kind) for kind in ("account", "server", "cluster", "operator") for _ in range(4)]
    user = valid[0]
    invalid = []
    for i in (5, 20, 54):
        bad = corrupt(user["public"], i)
        invalid.append({"text": bad, "why": f"public key with character {i} changed (checksum)"})
    invalid.append({"text": corrupt(user["seed"], 30), "why": "seed with character 30 changed (checksum)"})
    invalid.append({"text": user["public"][:-1], "why": "public key truncated"})
    invalid.append({"text": user["public"] + "A", "why": "public key with an extra character"})
    invalid.append({"text": user["public"].lower(), "why": "lowercase is not base32"})
    invalid.append({"text": user["public"].replace(user["public"][10], "1", 1), "why": "'1' is not in the alphabet"})
    # (nkeys 0.2.1 has no public-key decoder and its decode_seed does not check the CRC,
    # so these are produced by corrupting valid reference output, not refused by it.)
    doc = {
        "generator": "scripts/gen-nkey-vectors.py with nkeys " + getattr(nkeys, "__version__", "(pypi)"),
        "valid": valid,
        "invalid_public": [c for c in invalid if not c["text"].startswith("S")],
        "invalid_seed": [c for c in invalid if c["text"].startswith("S")],
        # a user key is refused where another role is expected, and the other way round
        "wrong_prefix_for_user": [v["public"] for v in valid if v["kind"] != "user"],
    }
    print(json.dumps(doc, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
