#!/usr/bin/env python3
"""An RFC 9421 signer nobody on this project wrote: `http-message-signatures` from PyPI.

Started by the Swift suite (MembershipdTests/ControlPlaneTests.swift). Signs one request with
ed25519 (covering @method, @target-uri and, with a body, content-digest), optionally tampers
with it after signing, sends it with `requests`, and prints {"status": N, "body": {...}}.

Usage: http_sig_peer.py BASE_URL CA SEED_HEX_FILE METHOD PATH BODY_JSON|- none|body|path [ORIGIN]
With ORIGIN (https://HOST[:PORT]) the request is signed for ORIGIN + PATH and sent to BASE_URL
with ORIGIN's authority as its Host: a request addressed to that origin, whoever serves it.
"""
import json
import secrets
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit

import http_message_signatures as hms
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class Keys(hms.HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_private_key(self, key_id):
        return self.key

    def resolve_public_key(self, key_id):
        return self.key.public_key()


def main():
    base, ca, seed_file, method, path, body_arg, tamper = sys.argv[1:8]
    origin = sys.argv[8] if len(sys.argv) > 8 else base
    seed = bytes.fromhex(open(seed_file).read().strip())
    key = Ed25519PrivateKey.from_private_bytes(seed)
    key_id = key.public_key().public_bytes_raw().hex()
    body = None if body_arg == "-" else body_arg.encode()
    request = requests.Request(method, origin + path, data=body,
                               headers={"Content-Type": "application/json"} if body else {}).prepare()
    signer = hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys(key))
    signer.sign(request, key_id=key_id, created=datetime.now(timezone.utc), nonce=secrets.token_urlsafe(24),
                label="sig1", include_alg=True, covered_component_ids=("@method", "@target-uri"), body=body)
    if origin != base:
        request.url = base + path
        request.headers["Host"] = urlsplit(origin).netloc
    if tamper == "body":
        request.body = body.replace(b"}", b', "x": 1}') if body else b"{}"
        request.headers["Content-Length"] = str(len(request.body))
    elif tamper == "path":
        request.url = request.url.replace("/v1/", "/v1//", 1)
    response = requests.Session().send(request, verify=ca, timeout=10)
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    print(json.dumps({"status": response.status_code, "body": payload,
                      "signature_input": request.headers.get("Signature-Input")}))


if __name__ == "__main__":
    main()
