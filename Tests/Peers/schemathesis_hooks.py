"""schemathesis hooks: sign every request as the control plane expects (RFC 9421, ed25519).

Loaded by scripts/fuzz-api.sh (SCHEMATHESIS_HOOKS=schemathesis_hooks, this directory on
PYTHONPATH). The signer is `http-message-signatures` from PyPI, as in http_sig_peer.py, so the
server is checked against an implementation nobody on this project wrote.

What is signed, per request, once its bytes are final (a `requests` auth callable sees the
prepared request, so the URL and body are exactly what is sent):
- components "@method" and "@target-uri", plus "content-digest" when there is a body (the library
  adds `Content-Digest: sha-256=:…:` itself, RFC 9530);
- created = now, expires = now + 60 s, a fresh random nonce (22 characters of [A-Za-z0-9_-]),
  keyid = the signer's sign-pub hex, alg = "ed25519", label sig1.
`@target-uri` is the URL as sent: scheme://HOST:PORT/path?query, where HOST:PORT is the origin the
node answers for (fuzz-api.sh passes --url https://127.0.0.1:PORT, the node's default origin).

The fuzzer must not lock itself out: a generated `POST /v1/users/{signPub}/revoke` of the signer's
own key (the stateful phase finds it in `GET /v1/me`) revokes another seeded user instead, so the
rest of the run is still signed by an active admin.

Environment: UNIBUS_FUZZ_SEED_FILE, a file with the signer's 32-byte ed25519 seed as hex;
UNIBUS_FUZZ_SPARE_PUB, the sign-pub of another registered user (revoked instead of the signer).
"""
import os
import secrets
from datetime import datetime, timedelta, timezone

import http_message_signatures as hms
import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_sig_peer import Keys  # the one key resolver of the test signers


class RFC9421Auth(requests.auth.AuthBase):
    """Signs a prepared request in place."""

    def __init__(self, seed_hex):
        self.key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        self.key_id = self.key.public_key().public_bytes_raw().hex()
        self.signer = hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys(self.key))

    def __call__(self, request):
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        for name in ("Signature-Input", "Signature", "Content-Digest"):
            request.headers.pop(name, None)
        now = datetime.now(timezone.utc)
        self.signer.sign(
            request, key_id=self.key_id, created=now, expires=now + timedelta(seconds=60),
            nonce=secrets.token_urlsafe(16), label="sig1", include_alg=True,
            covered_component_ids=("@method", "@target-uri"), body=body or None)
        return request


_auth = None


def _signer():
    global _auth
    if _auth is None:
        with open(os.environ["UNIBUS_FUZZ_SEED_FILE"]) as f:
            _auth = RFC9421Auth(f.read().strip())
    return _auth


@schemathesis.hook
def before_call(context, case, kwargs):
    signer = _signer()
    params = case.path_parameters or {}
    if case.operation.path == "/v1/users/{signPub}/revoke" and str(params.get("signPub", "")).lower() == signer.key_id:
        params["signPub"] = os.environ["UNIBUS_FUZZ_SPARE_PUB"]
    kwargs["auth"] = signer
