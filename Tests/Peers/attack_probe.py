#!/usr/bin/env python3
"""An attacker's probe of a running unibus node, with clients nobody on this project wrote.

nats-py + nkeys (data plane), http-message-signatures + requests (signed API), raw TLS sockets
(HTTP/1.x and the NATS protocol by hand) and pure-Python RFC 8032 arithmetic (keys). Started by
Tests/MembershipdTests/AttackSuiteTests.swift with a JSON "world" (see `load_world`), it sets up
its cast through the API as the admin the wrapper made, runs every case of the groups the world
names (concurrently, with asyncio), and prints one JSON object per case on stdout:

  {"group": "data", "case": "...", "expected": "...", "got": "...", "ok": true}

then {"done": N, "failed": M}. Exit 1 when any case's got is not what was expected, 2 when the
world could not be set up (the error on stderr).

Cast (fresh keys every run): root (admin, made by the wrapper); ana (member, sole owner of room
`secret`: the victim); mallory (member of room `m` only: the attacker); bob (member of `m`, who
answers every request on `unibus.room.m.svc`: the honest responder, i.e. the confused deputy);
yan and zed (members of `m`, removed and revoked while connected); rex (revoked at setup); ghost
(a small-order key planted straight into the store, as if stored before the key check existed).

Usage: attack_probe.py WORLD_JSON
"""
import asyncio
import traceback
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import http_message_signatures as hms
import nats
import nkeys
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_sig_peer import Keys  # the same key resolver the other signing peer uses (same folder)

CASES = []
WORLD = {}
QUIET = 1.5  # seconds a "nothing arrives" observation waits


# --------------------------------------------------------------------------- keys (RFC 8032)

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
L = 2**252 + 27742317777372353535851937790883648493


def decode_point(b):
    """RFC 8032 section 5.1.3, but reporting non-canonical y instead of reducing it.
    Returns (x, y) or a string saying why the bytes are not a canonical point."""
    n = int.from_bytes(b, "little")
    sign, y = n >> 255, n & ((1 << 255) - 1)
    if y >= P:
        return "non-canonical (y >= p)"
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * SQRT_M1 % P
        if (v * x * x - u) % P != 0:
            return "not a point"
    if x == 0 and sign:
        return "non-canonical (x = 0 with the sign bit)"
    if x & 1 != sign:
        x = P - x
    return (x, y)


def point_add(a, b):
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def point_mul(k, pt):
    acc, cur = (0, 1), pt
    while k:
        if k & 1:
            acc = point_add(acc, cur)
        cur, k = point_add(cur, cur), k >> 1
    return acc


def encode_point(pt):
    x, y = pt
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def bad_keys():
    """Every public key an attacker would try: the eight points of small order (found by
    solving, not copied: the 8-torsion is the set of points with [8]P = identity) in both sign
    encodings, y >= p, and bytes that decode to no point. {name: hex}."""
    keys = {}
    # The 8-torsion: identity, (0, -1), (+-sqrt(-1), 0), and four points of order 8 whose y
    # solves y^2 = ... ; find them as the images [L]Q of random points Q (a multiple of L kills
    # the prime-order part and leaves the torsion part).
    torsion = {}
    rng = 1
    while len(torsion) < 8:
        rng += 1
        cand = decode_point(hashlib.sha256(rng.to_bytes(4, "little")).digest())
        if isinstance(cand, str):
            continue
        t = point_mul(L, cand)
        torsion[encode_point(t)] = t
    for enc, pt in sorted(torsion.items()):
        order = next(k for k in (1, 2, 4, 8) if point_mul(k, pt) == (0, 1))
        for variant in (enc, enc[:31] + bytes([enc[31] ^ 0x80])):
            why = decode_point(variant)
            label = why if isinstance(why, str) else f"small order {order}"
            keys.setdefault(variant.hex(), f"{label}: {variant.hex()[:6]}..{variant.hex()[-4:]}")
    for k in (0, 1, 18):  # y = p, p + 1 (the identity, non-canonical), p + 18
        enc = (P + k).to_bytes(32, "little")
        keys[enc.hex()] = f"non-canonical y = p+{k}"
    y = 2
    while not isinstance(decode_point(y.to_bytes(32, "little")), str):
        y += 1
    keys[y.to_bytes(32, "little").hex()] = f"not a point (y = {y})"
    return {name: hexkey for hexkey, name in keys.items()}


IDENTITY = "01" + "00" * 31
FORGED_SIG = bytes.fromhex(IDENTITY) + bytes(32)  # R = identity, S = 0


def nkey_public(raw):
    """The user public nkey (U...) of 32 raw bytes (no secret needed)."""
    data = bytes([nkeys.PREFIX_BYTE_USER]) + raw
    crc = nkeys.crc16_checksum(data)
    return base64.b32encode(data + bytes(crc)).rstrip(b"=").decode()


class Person:
    def __init__(self, handle, role="member"):
        self.handle, self.role = handle, role
        self.seed = secrets.token_bytes(32)
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.pub = self.key.public_key().public_bytes_raw().hex()
        self.nkey_seed = nkeys.encode_seed(self.seed, nkeys.PREFIX_BYTE_USER).decode()

    @classmethod
    def from_seed_hex(cls, handle, seed_hex, role):
        p = cls(handle, role)
        p.seed = bytes.fromhex(seed_hex)
        p.key = Ed25519PrivateKey.from_private_bytes(p.seed)
        p.pub = p.key.public_key().public_bytes_raw().hex()
        p.nkey_seed = nkeys.encode_seed(p.seed, nkeys.PREFIX_BYTE_USER).decode()
        return p


# --------------------------------------------------------------------------- signed HTTP


class ForgedED25519(hms.algorithms.ED25519):
    """Signs nothing: R = identity, S = 0, which verifies for a small-order key and any message."""

    def sign(self, message):
        return FORGED_SIG


class Answer:
    def __init__(self, status, text):
        self.status, self.text = status, text
        try:
            self.json = json.loads(text)
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    @property
    def json_error(self):
        j = self.json
        return isinstance(j, dict) and isinstance(j.get("error"), str) and isinstance(j.get("message"), str)

    def __str__(self):
        if self.status >= 400:
            return f"{self.status} {self.code}" if self.json_error else f"{self.status} (body not a JSON error: {self.text[:60]!r})"
        return f"{self.status}"


def signed(method, path, body=None, *, who, origin=None, host=None, sign_method=None, sign_path=None,
           nonce=None, created=None, cover_digest=True, algorithm=None, key_id=None, after=None):
    """Signs `method origin+path` (what the attacker claims; the library adds and covers
    Content-Digest for a body) and sends it to the node, after `after(request)` if given."""
    origin = origin or WORLD["origin"]
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = requests.Request(sign_method or method, origin + (sign_path or path), data=data, headers=headers).prepare()
    extra = {"body": data} if data is not None else {}
    if data is not None and not cover_digest:
        req.headers["Content-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
        extra = {"use_existing_digest": True}
    signer = hms.HTTPMessageSigner(signature_algorithm=algorithm or hms.algorithms.ED25519, key_resolver=Keys(who.key))
    signer.sign(req, key_id=key_id or who.pub, created=created or datetime.now(timezone.utc),
                nonce=nonce or secrets.token_urlsafe(24), label="sig1", include_alg=True,
                covered_component_ids=("@method", "@target-uri"), **extra)
    req.method = method
    req.url = WORLD["https"] + path
    if host:
        req.headers["Host"] = host
    if after:
        after(req)
    return send(req)


THREAD = threading.local()


def send(req):
    # A pooled connection idle for longer than the node's 30 s idle bound is closed by the node;
    # a request sent on it as it closes gets no answer (the keep-alive race every HTTP client
    # has). Open a fresh connection once the last one has idled for 20 s.
    now = time.monotonic()
    if not hasattr(THREAD, "session") or now - THREAD.used > 20:
        THREAD.session = requests.Session()
    r = THREAD.session.send(req, verify=WORLD["ca"], timeout=20)
    THREAD.used = time.monotonic()
    return Answer(r.status_code, r.text)


async def api(*args, **kwargs):
    # nats-server 2.9.10 may not answer JetStream for a moment while it reloads accounts (the
    # node answers 503 "store unavailable", failing closed). That is no answer to the question a
    # row asks: with the KV store, ask again (fresh signature and nonce) a few times, and say so.
    # A request with a chosen nonce is never repeated (the first try may have used it).
    loop = asyncio.get_running_loop()
    for attempt in range(6):
        a = await loop.run_in_executor(None, lambda: signed(*args, **kwargs))
        transient = a.status == 503 and "store unavailable" in a.text and WORLD.get("store") == "kv" and "nonce" not in kwargs
        if not transient or attempt == 5:
            return a
        print(f"probe: {args[0]} {args[1]} answered 503 store unavailable (attempt {attempt + 1}); asking again", file=sys.stderr)
        await asyncio.sleep(0.5)


async def must(answer_coro, *statuses):
    a = await answer_coro
    if a.status not in statuses:
        raise SetupError(f"setup step answered {a.status} {a.text}")
    return a


class SetupError(Exception):
    pass


# --------------------------------------------------------------------------- raw TLS


def tls_context():
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=WORLD["ca"])
    return ctx


async def raw_http(data, *, wait=10.0, tls=True, chunks=None, interval=0.0):
    """Sends `data` (or `chunks`, `interval` seconds apart) and reads until the server closes or
    `wait` passes. Returns (status, body text, closed, seconds until close or None)."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", WORLD["http_port"], ssl=tls_context() if tls else None,
        server_hostname="127.0.0.1" if tls else None)
    received = b""

    async def read_all():
        nonlocal received
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            received += chunk

    reading = asyncio.ensure_future(read_all())
    try:
        for piece in (chunks if chunks is not None else [data]):
            if reading.done():
                break
            try:
                writer.write(piece)
                await writer.drain()
            except (ConnectionError, ssl.SSLError):
                break
            if interval:
                await asyncio.wait([reading], timeout=interval)
        remaining = max(0.1, wait - (time.monotonic() - start))
        done, _ = await asyncio.wait([reading], timeout=remaining)
        closed = bool(done)
        if done:
            try:
                reading.result()
            except (ConnectionError, ssl.SSLError, OSError):
                pass
    finally:
        reading.cancel()
        writer.close()
    elapsed = time.monotonic() - start
    status, body = parse_http(received)
    return status, body, closed, (elapsed if closed else None)


def parse_http(raw):
    if not raw.startswith(b"HTTP/"):
        return None, raw.decode(errors="replace")
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    if "content-length" in headers:
        body = rest[: int(headers["content-length"])]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body, buf = b"", rest
        while buf:
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            body, buf = body + buf[:size], buf[size + 2:]
    else:
        body = rest
    return status, body.decode(errors="replace")


def http_row(status, body):
    a = Answer(status or 0, body)
    if status is None:
        return "no HTTP answer"
    return str(a)


def request_bytes(method, path, headers=(), body=b"", version="HTTP/1.1", host=None):
    lines = [f"{method} {path} {version}"]
    if host is not False:
        lines.append(f"Host: {host or WORLD['authority']}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --------------------------------------------------------------------------- NATS


class Conn:
    """A nats-py connection that records the server's asynchronous errors."""

    def __init__(self):
        self.errors, self.closed = [], asyncio.Event()
        self.nc = None

    @classmethod
    async def open(cls, person=None, *, seed_file=None, cert=True, inbox=True):
        c = cls()
        ctx = tls_context()
        if cert:
            ctx.load_cert_chain(certfile=WORLD["cert"], keyfile=WORLD["key"])

        async def on_error(e):
            c.errors.append(str(e))

        async def on_closed():
            c.closed.set()

        kwargs = {}
        if person is not None:
            kwargs["nkeys_seed_str"] = person.nkey_seed
            if inbox:
                kwargs["inbox_prefix"] = f"_INBOX.{person.handle}"
        if seed_file:
            kwargs["nkeys_seed"] = seed_file
        # An active user's connect can be refused while nats-server applies a reload (a race in
        # nats-server seen on 2.9.10 and 2.15 under concurrent reloads; docs/ACL-ENGINE.md):
        # retried, and counted in the summary so it stays visible. Refusals that are the point of
        # a case go through connect_refusal, never through here.
        for attempt in range(4):
            try:
                c.nc = await nats.connect(
                    servers=[WORLD["nats_url"]], tls=ctx, error_cb=on_error, closed_cb=on_closed, disconnected_cb=on_closed,
                    allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5, skip_subject_validation=True,
                    name="unibus-attack-probe", **kwargs)
                return c
            except Exception as e:  # noqa: BLE001
                transient = "authorization violation" in str(e).lower() or isinstance(e, (ConnectionError, asyncio.TimeoutError))
                if attempt == 3 or not transient or person not in ALWAYS_ACTIVE():
                    raise
                RELOAD_REFUSALS.append(person.handle if person else "?")
                await asyncio.sleep(0.3)

    def violation(self, kind, subject):
        needle = f'permissions violation for {kind} to "{subject}"'.lower()
        return any(needle in e.lower() for e in self.errors)

    async def wait_violation(self, kind, subject, timeout=4.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.violation(kind, subject):
                return True
            await asyncio.sleep(0.02)
        return False

    async def record(self, subject, queue=""):
        got = []

        async def cb(msg):
            got.append(msg)

        await self.nc.subscribe(subject, queue=queue, cb=cb)
        return got

    async def close(self):
        try:
            await self.nc.close()
        except Exception:  # noqa: BLE001
            pass


async def internal():
    return await Conn.open(seed_file=WORLD["internal_seed_file"])


async def raw_nats_connect(nkey, sign):
    """The NATS protocol by hand: INFO, TLS, CONNECT with `nkey` and sign(nonce), PING.
    Returns the server's first answer line."""
    loop = asyncio.get_running_loop()

    def run():
        host, port = WORLD["nats_url"].split("//")[1].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=5)
        buf = b""
        while b"\r\n" not in buf:
            buf += sock.recv(4096)
        info = json.loads(buf.split(b" ", 1)[1].split(b"\r\n")[0])
        ctx = tls_context()
        ctx.load_cert_chain(certfile=WORLD["cert"], keyfile=WORLD["key"])
        tls = ctx.wrap_socket(sock, server_hostname=host)
        sig = base64.urlsafe_b64encode(sign(info["nonce"].encode())).rstrip(b"=").decode()
        connect = {"verbose": False, "pedantic": False, "tls_required": True, "nkey": nkey, "sig": sig,
                   "name": "unibus-attack-probe", "lang": "raw", "version": "0", "protocol": 1}
        tls.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        tls.settimeout(5)
        out = b""
        try:
            while b"\r\n" not in out:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                out += chunk
        except (OSError, ssl.SSLError):
            pass
        tls.close()
        return out.decode(errors="replace").split("\r\n")[0] or "(closed)"

    return await loop.run_in_executor(None, run)


# --------------------------------------------------------------------------- the cast


class Cast:
    pass


CAST = Cast()


async def setup():
    root = Person.from_seed_hex("root", open(WORLD["admin_seed_file"]).read().strip(), "admin")
    CAST.root = root
    for handle in ("ana", "bob", "mallory", "yan", "zed", "rex", "olga"):
        setattr(CAST, handle, Person(handle))
    people = [CAST.ana, CAST.bob, CAST.mallory, CAST.yan, CAST.zed, CAST.rex, CAST.olga]
    await asyncio.gather(*[
        must(api("POST", "/v1/users", json.dumps({"sign_pub": p.pub, "handle": p.handle, "role": p.role}), who=root), 200, 201)
        for p in people])
    await must(api("POST", "/v1/rooms", '{"id":"secret"}', who=CAST.ana), 200, 201)
    await must(api("POST", "/v1/rooms", '{"id":"m"}', who=root), 200, 201)
    await asyncio.gather(*[
        must(api("PUT", f"/v1/rooms/m/members/{p.pub}", '{"role":"member"}', who=root), 200, 201)
        for p in (CAST.bob, CAST.mallory, CAST.yan, CAST.zed)])
    await must(api("POST", f"/v1/users/{CAST.rex.pub}/revoke", who=root), 200)
    # the honest responder: answers every request on unibus.room.m.svc
    CAST.bob_conn = await Conn.open(CAST.bob)

    async def answer(msg):
        if msg.reply:
            try:
                await CAST.bob_conn.nc.publish(msg.reply, b"answer from bob")
            except Exception:  # noqa: BLE001
                pass

    await CAST.bob_conn.nc.subscribe("unibus.room.m.svc", cb=answer)
    await CAST.bob_conn.nc.flush()
    # the victim listens on her room and her inbox
    CAST.ana_conn = await Conn.open(CAST.ana)
    CAST.ana_room = await CAST.ana_conn.record("unibus.room.secret")
    CAST.ana_tree = await CAST.ana_conn.record("unibus.room.secret.>")
    CAST.ana_inbox = await CAST.ana_conn.record("_INBOX.ana.>")
    await CAST.ana_conn.nc.flush()
    if "data" in WORLD["groups"] or "keys" in WORLD["groups"]:
        await plant_ghost()


async def plant_ghost():
    """A small-order key (the identity) stored as an active admin behind the key check's back,
    as a store written before the check existed would hold it; then one API write, which
    returns once the ACL rendered from the whole store (ghost included) is applied."""
    now = time.time()
    if WORLD["store"] == "sqlite":
        db = sqlite3.connect(WORLD["db"], timeout=10)
        with db:
            db.execute("INSERT INTO users (sign_pub, handle, role, status, created_at) VALUES (?, 'ghost', 'admin', 'active', ?)",
                       (IDENTITY, now))
        db.close()
    else:
        c = await internal()
        kv = await c.nc.jetstream().key_value("UNIBUS_users")
        await kv.put(IDENTITY, json.dumps({"sign_pub": IDENTITY, "handle": "ghost", "role": "admin", "status": "active",
                                           "created_at": now}, sort_keys=True).encode())
        await kv.put("handle.ghost", json.dumps({"sign_pub": IDENTITY}).encode())
        await c.close()
    await asyncio.sleep(1.0)  # the SQLite change feed polls; the KV watcher is pushed
    CAST.sentinel = Person("sentinel")
    a = await api("POST", "/v1/users", json.dumps({"sign_pub": CAST.sentinel.pub, "handle": "sentinel", "role": "member"}),
                  who=CAST.root)
    CAST.after_ghost = str(a)  # a store with such a record must keep working (reported in a case)


# --------------------------------------------------------------------------- cases


def case(group, name, expected, after=False):
    def register(fn):
        CASES.append((group, name, expected, fn, after))
        return fn
    return register


def refused(v, delivered):
    if v and not delivered:
        return "refused (Permissions Violation), nothing delivered", True
    return f"{'violation' if v else 'NO violation'}, {'DELIVERED ' + str(delivered) if delivered else 'nothing delivered'}", False


# ---- the reply-subject trick: mallory answers her own message

TRICK_TARGETS = [
    ("another room", "unibus.room.secret"),
    ("another room's tree", "unibus.room.secret.chat"),
    ("JetStream stream create", "$JS.API.STREAM.CREATE.ATTACK"),
    ("JetStream info", "$JS.API.INFO"),
    ("KV record of her own key", "$KV.UNIBUS_users.{mallory}"),
    ("KV members of another room", "$KV.UNIBUS_members.secret.{mallory}"),
    ("system ping", "$SYS.REQ.SERVER.PING"),
    ("system account connz", "$SYS.REQ.ACCOUNT.ROOMS.CONNZ"),
]


def fill(subject):
    return subject.replace("{mallory}", CAST.mallory.pub)


def observed(subject):
    """What the victim saw on `subject` (only room subjects have a listener)."""
    if subject.startswith("unibus.room.secret"):
        return [m.data for m in CAST.ana_room + CAST.ana_tree if m.subject == subject]
    return []


for _label, _target in TRICK_TARGETS:
    def _make(label, target):
        @case("data", f"reply trick -> {label} ({target})", "refused (Permissions Violation), nothing delivered")
        async def trick():
            subject = fill(target)
            mal = await Conn.open(CAST.mallory)
            token = secrets.token_hex(4)

            async def answer(msg):
                if msg.reply:
                    try:
                        await mal.nc.publish(msg.reply, json.dumps({"role": "admin", "trick": token}).encode())
                    except Exception:  # noqa: BLE001
                        pass

            await mal.nc.subscribe(f"unibus.room.m.trick.{token}", cb=answer)
            await mal.nc.flush()
            await mal.nc.publish(f"unibus.room.m.trick.{token}", b"question", reply=subject)
            v = await mal.wait_violation("publish", subject)
            await asyncio.sleep(QUIET)
            delivered = [d for d in observed(subject) if token.encode() in d]
            await mal.close()
            return refused(v, delivered)
    _make(_label, _target)


@case("data", "reply trick -> another user's inbox (_INBOX.ana.x)", "delivered: publishing to any inbox is allowed (contract 3)")
async def trick_inbox():
    mal = await Conn.open(CAST.mallory)
    token = secrets.token_hex(4)

    async def answer(msg):
        await mal.nc.publish(msg.reply, token.encode())

    await mal.nc.subscribe(f"unibus.room.m.trick.{token}", cb=answer)
    await mal.nc.flush()
    await mal.nc.publish(f"unibus.room.m.trick.{token}", b"q", reply="_INBOX.ana.x")
    await asyncio.sleep(QUIET)
    delivered = any(m.data == token.encode() for m in CAST.ana_inbox)
    await mal.close()
    return ("delivered: publishing to any inbox is allowed (contract 3)" if delivered else "not delivered"), delivered


# ---- the confused deputy: bob answers whatever mallory asks, to the reply she chose

DEPUTY_TARGETS = [
    ("another room", "unibus.room.secret"),
    ("JetStream stream create", "$JS.API.STREAM.CREATE.DEPUTY"),
    ("KV record of mallory's key", "$KV.UNIBUS_users.{mallory}"),
    ("system ping", "$SYS.REQ.SERVER.PING"),
]

for _label, _target in DEPUTY_TARGETS:
    def _make_deputy(label, target):
        @case("data", f"confused deputy -> {label} ({target})", "refused (Permissions Violation), nothing delivered")
        async def deputy():
            subject = fill(target)
            mal = await Conn.open(CAST.mallory)
            before = len(observed(subject))
            await mal.nc.publish("unibus.room.m.svc", b"please answer", reply=subject)
            await mal.nc.flush()
            v = await CAST.bob_conn.wait_violation("publish", subject)
            await asyncio.sleep(QUIET)
            delivered = [d for d in observed(subject)[before:] if d == b"answer from bob"]
            await mal.close()
            got, ok = refused(v, delivered)
            return got.replace("refused (", "refused on bob's connection (") if ok else got, ok
    _make_deputy(_label, _target)


@case("data", "request/reply between members still works (mallory asks, bob answers)", "answered")
async def request_reply():
    mal = await Conn.open(CAST.mallory)
    try:
        msg = await mal.nc.request("unibus.room.m.svc", b"ping", timeout=5)
        return ("answered" if msg.data == b"answer from bob" else f"wrong answer {msg.data!r}"), msg.data == b"answer from bob"
    except Exception as e:  # noqa: BLE001
        return f"no answer ({type(e).__name__})", False
    finally:
        await mal.close()


# ---- direct publishes and subscribes to everything outside her room and inbox

PUBLISH_DENIED = [
    "unibus.room.secret", "unibus.room.secret.x", "unibus.room", "unibus.other", "$JS.API.INFO",
    "$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.NAMES", "$JS.API.CONSUMER.CREATE.KV_UNIBUS_users",
    "$KV.UNIBUS_users.{mallory}", "$KV.UNIBUS_rooms.secret", "$KV.UNIBUS_nonces.x", "$SYS.REQ.SERVER.PING",
    "$SYS.REQ.ACCOUNT.ROOMS.CONNZ", "$SYS.REQ.USER.INFO", "_INBOX", "_INBOX.ana",
]
SUBSCRIBE_DENIED = [
    ">", "*.>", "unibus.>", "unibus.room.>", "unibus.room.*", "unibus.room.secret", "unibus.room.secret.>",
    "$JS.>", "$JS.API.>", "$JS.API.INFO", "$KV.>", "$KV.UNIBUS_users.>", "$SYS.>", "$SYS.REQ.ACCOUNT.*",
    "_INBOX.>", "_INBOX.*.>", "_INBOX.ana.>", "_INBOX.ana.x",
]

for _s in PUBLISH_DENIED:
    def _make_pub(subject_template):
        @case("data", f"publish {subject_template}", "refused (Permissions Violation), nothing delivered")
        async def pub():
            subject = fill(subject_template)
            mal = await Conn.open(CAST.mallory)
            token = secrets.token_hex(6).encode()
            await mal.nc.publish(subject, token)
            v = await mal.wait_violation("publish", subject)
            await asyncio.sleep(0.5)
            await mal.close()
            return refused(v, [d for d in observed(subject) if d == token])
    _make_pub(_s)

for _s in SUBSCRIBE_DENIED:
    def _make_sub(subject):
        @case("data", f"subscribe {subject}", "refused (Permissions Violation), nothing delivered")
        async def sub():
            mal = await Conn.open(CAST.mallory)
            got = await mal.record(subject)
            v = await mal.wait_violation("subscription", subject)
            # traffic that would match: ana talks in her room, bob answers into ana's inbox
            await CAST.ana_conn.nc.publish("unibus.room.secret", b"private")
            await CAST.bob_conn.nc.publish("_INBOX.ana.x", b"private")
            await asyncio.sleep(0.5)
            await mal.close()
            return refused(v, [m.subject for m in got])
    _make_sub(_s)


@case("data", "queue subscribe unibus.room.secret (queue q)", "refused (Permissions Violation), nothing delivered")
async def queue_sub():
    mal = await Conn.open(CAST.mallory)
    got = await mal.record("unibus.room.secret", queue="q")
    v = await mal.wait_violation("subscription", "unibus.room.secret")
    await CAST.ana_conn.nc.publish("unibus.room.secret", b"private")
    await asyncio.sleep(0.5)
    await mal.close()
    return refused(v, [m.subject for m in got])


@case("data", "JetStream API from a user ($JS.API.INFO request)", "no answer (no JetStream in the users' account)")
async def js_request():
    mal = await Conn.open(CAST.mallory)
    try:
        msg = await mal.nc.request("$JS.API.INFO", b"", timeout=2)
        return f"ANSWERED {msg.data[:60]!r}", False
    except Exception as e:  # noqa: BLE001
        return "no answer (no JetStream in the users' account)", True
    finally:
        await mal.close()


@case("data", "subscribe own room and inbox (control)", "allowed, no violation")
async def own_subjects():
    mal = await Conn.open(CAST.mallory)
    got = await mal.record("unibus.room.m.>")
    await mal.record("_INBOX.mallory.>")
    await mal.nc.flush()
    # A fresh publisher (bob's long-lived connection is busy being the deputy in other cases).
    pub = await Conn.open(CAST.bob)
    await pub.nc.publish("unibus.room.m.hello", b"hi")
    await pub.nc.flush()
    await pub.close()
    for _ in range(50):  # other cases publish into m too: wait for bob's message itself (5 s at most)
        if any(m.data == b"hi" for m in got):
            break
        await asyncio.sleep(0.1)
    bad = [e for e in mal.errors if "violation" in e.lower()]
    await mal.close()
    ok = not bad and any(m.data == b"hi" for m in got)
    return ("allowed, no violation" if ok else f"violations {bad}, got {len(got)}"), ok


# ---- credentials

@case("data", "connect with an unknown nkey", "refused (authorization violation)")
async def unknown_nkey():
    return await expect_refused(Person("eve"))


@case("data", "connect without a client certificate", "refused (TLS handshake or authorization)")
async def no_cert():
    try:
        c = await Conn.open(CAST.mallory, cert=False)
        await c.close()
        return "CONNECTED", False
    except Exception as e:  # noqa: BLE001
        return "refused (TLS handshake or authorization)", True


@case("data", "connect with no nkey at all (anonymous)", "refused (authorization violation)")
async def anonymous():
    return await expect_refused(None)


@case("data", "connect as a revoked user (rex)", "refused (authorization violation)")
async def revoked_connect():
    return await expect_refused(CAST.rex)


@case("data", "connect as ana's nkey with mallory's signature", "-ERR 'Authorization Violation'")
async def wrong_signer():
    nkey = nkey_public(bytes.fromhex(CAST.ana.pub))
    line = await raw_nats_connect(nkey, lambda nonce: CAST.mallory.key.sign(nonce))
    return line, "authorization violation" in line.lower()


@case("data", "forged nkey signature (R=identity, S=0) for a small-order key planted in the store", "-ERR 'Authorization Violation'")
async def forged_nkey():
    line = await raw_nats_connect(nkey_public(bytes.fromhex(IDENTITY)), lambda nonce: FORGED_SIG)
    return line, "authorization violation" in line.lower()


@case("data", "planted small-order key left out of the rendered config; the store keeps working",
      "absent from nats-server.conf; next write 201")
async def ghost_not_rendered():
    text = open(WORLD["conf"]).read()
    present = nkey_public(bytes.fromhex(IDENTITY)) in text
    got = f"{'PRESENT in' if present else 'absent from'} nats-server.conf; next write {CAST.after_ghost}"
    return got, not present and CAST.after_ghost == "201"


async def expect_refused(person):
    try:
        c = await Conn.open(person)
        await c.close()
        return "CONNECTED", False
    except Exception as e:  # noqa: BLE001
        text = str(e).lower() or type(e).__name__
        ok = "authorization" in text
        return ("refused (authorization violation)" if ok else f"refused otherwise: {text[:80]}"), ok


# ---- KV tampering, checked through the API and the internal identity

@case("data", "make herself admin through $KV.UNIBUS_users.<her key> (direct, trick, deputy) -> GET /v1/me", "role member")
async def kv_tamper():
    mal = await Conn.open(CAST.mallory)
    record = json.dumps({"sign_pub": CAST.mallory.pub, "handle": "mallory", "role": "admin", "status": "active",
                         "created_at": time.time()}).encode()
    subject = f"$KV.UNIBUS_users.{CAST.mallory.pub}"
    await mal.nc.publish(subject, record)
    await mal.nc.publish("unibus.room.m.svc", b"please", reply=subject)

    async def answer(msg):
        await mal.nc.publish(msg.reply, record)

    await mal.nc.subscribe("unibus.room.m.kvtrick", cb=answer)
    await mal.nc.flush()
    await mal.nc.publish("unibus.room.m.kvtrick", b"q", reply=subject)
    await asyncio.sleep(QUIET)
    await mal.close()
    me = await api("GET", "/v1/me", who=CAST.mallory)
    role = me.json.get("role") if isinstance(me.json, dict) else None
    admin = await api("GET", "/v1/users", who=CAST.mallory)
    got = f"role {role}; GET /v1/users {admin.status}"
    return got, role == "member" and admin.status == 403


@case("data", "no stream was created by any trick (checked as the internal identity)", "no ATTACK/DEPUTY/X stream", after=True)
async def no_streams():
    c = await internal()
    try:
        js = c.nc.jetstream()
        names = await js.streams_info()
        found = sorted(s.config.name for s in names if s.config.name in ("ATTACK", "DEPUTY", "X"))
        return (f"streams {found} EXIST" if found else "no ATTACK/DEPUTY/X stream"), not found
    finally:
        await c.close()


@case("data", "mallory's user record unchanged (read back as the internal identity or the store)", "role member", after=True)
async def record_unchanged():
    if WORLD["store"] == "kv":
        c = await internal()
        try:
            kv = await c.nc.jetstream().key_value("UNIBUS_users")
            entry = await kv.get(CAST.mallory.pub)
            role = json.loads(entry.value).get("role")
        finally:
            await c.close()
    else:
        db = sqlite3.connect(f"file:{WORLD['db']}?mode=ro", uri=True, timeout=10)
        role = db.execute("SELECT role FROM users WHERE sign_pub = ?", (CAST.mallory.pub,)).fetchone()[0]
        db.close()
    return f"role {role}", role == "member"


# ---- revocation and member removal on live connections

@case("data", "revocation (API) closes zed's live connection", "closed within 10 s")
async def revoke_live():
    z = await Conn.open(CAST.zed)
    await z.record("unibus.room.m.>")
    await z.nc.flush()
    start = time.monotonic()
    r = await api("POST", f"/v1/users/{CAST.zed.pub}/revoke", who=CAST.root)
    try:
        await asyncio.wait_for(z.closed.wait(), 10)
        return f"closed {time.monotonic() - start:.2f} s after the request (API {r.status})", True
    except asyncio.TimeoutError:
        return f"STILL OPEN after 10 s (API {r})", False
    finally:
        await z.close()


@case("data", "member removal (API) withdraws room m from yan's live connection", "nothing received after removal, publish refused")
async def remove_live():
    y = await Conn.open(CAST.yan)
    got = await y.record("unibus.room.m.>")
    await y.nc.flush()
    pub = await Conn.open(CAST.bob)  # a fresh publisher, as above
    await pub.nc.publish("unibus.room.m.before", b"before")
    await pub.nc.flush()
    for _ in range(50):  # the control: yan receives the room before the removal (5 s at most)
        if any(m.subject == "unibus.room.m.before" for m in got):
            break
        await asyncio.sleep(0.1)
    saw_before = any(m.subject == "unibus.room.m.before" for m in got)
    r = await api("DELETE", f"/v1/rooms/m/members/{CAST.yan.pub}", who=CAST.root)
    try:
        await pub.nc.publish("unibus.room.m.after", b"after")
        await pub.nc.flush()
    except Exception:  # noqa: BLE001 - bob's connection broke in nats-server's reload: publish again
        RELOAD_REFUSALS.append("bob (publisher broken by a reload)")
        pub = await Conn.open(CAST.bob)
        await pub.nc.publish("unibus.room.m.after", b"after")
        await pub.nc.flush()
    await pub.close()
    await y.nc.publish("unibus.room.m.from-yan", b"x")
    v = await y.wait_violation("publish", "unibus.room.m.from-yan")
    await asyncio.sleep(QUIET)
    after = [m.subject for m in got if m.subject == "unibus.room.m.after"]
    await y.close()
    ok = saw_before and not after and v and r.status in (200, 204)
    return (f"API {r.status}; before: {'seen' if saw_before else 'NOT SEEN'}; after: "
            f"{'RECEIVED' if after else 'nothing'}; publish {'refused' if v else 'NOT refused'}"), ok


# ---- control plane: keys

def key_cases():
    for name, hexkey in bad_keys().items():
        def _api(name=name, hexkey=hexkey):
            @case("keys", f"POST /v1/users with {name}", "400 invalid", after=True)  # after the CLI tried the key
            async def post_bad():
                handle = "k" + secrets.token_hex(4)
                a = await api("POST", "/v1/users", json.dumps({"sign_pub": hexkey, "handle": handle, "role": "member"}),
                              who=CAST.root)
                return str(a), a.status == 400 and a.code == "invalid"

            @case("keys", f"CLI user add with {name}", "exit 1, nothing stored")
            async def cli_bad():
                handle = "c" + secrets.token_hex(4)
                loop = asyncio.get_running_loop()
                r = await loop.run_in_executor(None, lambda: subprocess.run(
                    [WORLD["membershipd"], "user", "add", "--handle", handle, "--sign-pub", hexkey, "--role", "member"]
                    + WORLD["cli_store"], cwd=WORLD["cwd"], capture_output=True, text=True, timeout=60))
                err = r.stderr.strip().splitlines()[-1][:90] if r.stderr.strip() else ""
                return f"exit {r.returncode}: {err}", r.returncode == 1 and "already" not in err
        _api()


key_cases()


@case("keys", "forged signature (R=identity, S=0) as the planted small-order admin", "401")
async def forged_ghost():
    a = await api("GET", "/v1/users", who=CAST.mallory, key_id=IDENTITY, algorithm=ForgedED25519)
    return str(a), a.status == 401


@case("keys", "forged signature (R=identity, S=0) with an unregistered identity key", "401")
async def forged_unknown():
    a = await api("GET", "/v1/me", who=CAST.mallory, key_id="ecff" + "ff" * 29 + "7f", algorithm=ForgedED25519)
    return str(a), a.status == 401


@case("keys", "forged signature (R=identity, S=0) with mallory's real key", "401 bad-signature")
async def forged_real():
    a = await api("GET", "/v1/me", who=CAST.mallory, algorithm=ForgedED25519)
    return str(a), a.status == 401 and a.code == "bad-signature"


# ---- control plane: origins

@case("control", "signed for https://evil.example, sent with Host evil.example", "421 misdirected")
async def origin_evil():
    a = await api("GET", "/v1/me", who=CAST.mallory, origin=f"https://evil.example:{WORLD['http_port']}",
                  host=f"evil.example:{WORLD['http_port']}")
    return str(a), a.status == 421 and a.code == "misdirected"


@case("control", "signed for this node, sent with Host of another port", "421 misdirected")
async def origin_port():
    a = await api("GET", "/v1/me", who=CAST.mallory, host="127.0.0.1:1")
    return str(a), a.status == 421 and a.code == "misdirected"


@case("control", "signed for another deployment's origin, sent to this node's Host", "401 bad-signature")
async def origin_other_signed():
    a = await api("GET", "/v1/me", who=CAST.mallory, origin="https://127.0.0.1:1")
    return str(a), a.status == 401 and a.code == "bad-signature"


@case("control", "a signed request replayed with another Host", "421 misdirected")
async def origin_replay():
    def twice():
        first = []

        def grab(req):
            first.append(req.copy())

        ok = signed("GET", "/v1/me", who=CAST.mallory, after=grab)
        again = first[0]
        again.headers["Host"] = "evil.example"
        return ok, send(again)

    ok, a = await asyncio.get_running_loop().run_in_executor(None, twice)
    return f"first {ok}, replay {a}", ok.status == 200 and a.status == 421 and a.code == "misdirected"


@case("control", "absolute-form request target for another host", "421 misdirected")
async def origin_absolute():
    status, body, _, _ = await raw_http(request_bytes("GET", "https://evil.example/v1/me", headers=[("Connection", "close")]))
    a = Answer(status or 0, body)
    return http_row(status, body), a.status == 421 and a.code == "misdirected"


@case("control", "localhost alias: signed for https://localhost:<port>, sent there (control)", "200")
async def origin_localhost():
    a = await api("GET", "/v1/me", who=CAST.mallory, origin=f"https://localhost:{WORLD['http_port']}",
                  host=f"localhost:{WORLD['http_port']}")
    return str(a), a.status == 200


# ---- control plane: signatures

@case("control", "replayed request (same nonce)", "401 replayed")
async def replay():
    def twice():
        first = []
        ok = signed("GET", "/v1/me", who=CAST.mallory, after=lambda r: first.append(r.copy()))
        return ok, send(first[0])

    ok, a = await asyncio.get_running_loop().run_in_executor(None, twice)
    return f"first {ok}, replay {a}", ok.status == 200 and a.status == 401 and a.code == "replayed"


@case("control", "unsigned request", "401 unsigned")
async def unsigned():
    a = await asyncio.get_running_loop().run_in_executor(
        None, lambda: send(requests.Request("GET", WORLD["https"] + "/v1/me").prepare()))
    return str(a), a.status == 401 and a.code == "unsigned"


@case("control", "body changed after signing", "401")
async def tampered_body():
    def change(req):
        req.body = b'{"id":"evil-room"}'
        req.headers["Content-Length"] = str(len(req.body))
    a = await api("POST", "/v1/rooms", '{"id":"fine-room"}', who=CAST.mallory, after=change)
    return str(a), a.status == 401


@case("control", "body not covered by the signature (no content-digest component)", "401")
async def digest_not_covered():
    a = await api("POST", "/v1/rooms", '{"id":"nodigest"}', who=CAST.mallory, cover_digest=False)
    return str(a), a.status == 401


@case("control", "signed as GET, sent as DELETE", "401 bad-signature")
async def method_changed():
    a = await api("DELETE", f"/v1/rooms/m/members/{CAST.bob.pub}", who=CAST.mallory, sign_method="GET")
    return str(a), a.status == 401 and a.code == "bad-signature"


@case("control", "signed for /v1/me, sent to /v1/users", "401 bad-signature")
async def path_changed():
    a = await api("GET", "/v1/users", who=CAST.root, sign_path="/v1/me")
    return str(a), a.status == 401 and a.code == "bad-signature"


@case("control", "created 10 minutes ago", "401 expired")
async def too_old():
    a = await api("GET", "/v1/me", who=CAST.mallory, created=datetime.now(timezone.utc) - timedelta(minutes=10))
    return str(a), a.status == 401 and a.code == "expired"


@case("control", "signed by a revoked user (rex)", "403 revoked")
async def revoked_sig():
    a = await api("GET", "/v1/me", who=CAST.rex)
    return str(a), a.status == 403 and a.code == "revoked"


# ---- control plane: authorization of a member

ESCALATIONS = [
    ("POST /v1/users (add an admin)", "POST", "/v1/users", lambda: json.dumps({"sign_pub": Person("x").pub, "handle": "mallory2", "role": "admin"})),
    ("POST revoke ana", "POST", lambda: f"/v1/users/{CAST.ana.pub}/revoke", None),
    ("GET /v1/users", "GET", "/v1/users", None),
    ("PUT herself into room secret", "PUT", lambda: f"/v1/rooms/secret/members/{CAST.mallory.pub}", lambda: '{"role":"member"}'),
    ("PUT herself owner of room m", "PUT", lambda: f"/v1/rooms/m/members/{CAST.mallory.pub}", lambda: '{"role":"owner"}'),
    ("DELETE ana from room secret", "DELETE", lambda: f"/v1/rooms/secret/members/{CAST.ana.pub}", None),
    ("PUT a room key for herself in secret", "PUT", lambda: f"/v1/rooms/secret/keys/{CAST.mallory.pub}", lambda: '{"epoch":1,"wrapped":"AAAA"}'),
    ("GET members of room secret", "GET", "/v1/rooms/secret/members", None),
]

for _name, _method, _path, _body in ESCALATIONS:
    def _make_esc(name, method, path, body):
        @case("control", f"member escalation: {name}", "403 forbidden (or 404 not-found)")
        async def esc():
            p = path() if callable(path) else path
            a = await api(method, p, body() if body else None, who=CAST.mallory)
            return str(a), a.status in (403, 404) and a.code in ("forbidden", "not-found")
    _make_esc(_name, _method, _path, _body)


# ---- control plane: strict bodies

BAD_BODIES = [
    ("duplicate key", "POST", "/v1/rooms", '{"id":"dup-a","id":"dup-b"}'),
    ("duplicate key through an escape", "POST", "/v1/rooms", '{"id":"dup-c","\\u0069d":"dup-d"}'),
    ("duplicate role (member then owner)", "PUT", "/v1/rooms/m/members/{bob}", '{"role":"member","role":"owner"}'),
    ("unknown field", "POST", "/v1/rooms", '{"id":"unk-a","admin":true}'),
    ("field in another case", "POST", "/v1/rooms", '{"ID":"case-a"}'),
    ("epoch 1e3", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":1e3,"wrapped":"AAAA"}'),
    ("epoch 1.0", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":1.0,"wrapped":"AAAA"}'),
    ("epoch 2^53+1", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":9007199254740993,"wrapped":"AAAA"}'),
    ("epoch 1e400", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":1e400,"wrapped":"AAAA"}'),
    ("epoch -1", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":-1,"wrapped":"AAAA"}'),
    ("epoch as a string", "PUT", "/v1/rooms/m/keys/{bob}", '{"epoch":"1","wrapped":"AAAA"}'),
    ("array instead of object", "POST", "/v1/rooms", '["id","arr-a"]'),
    ("string instead of object", "POST", "/v1/rooms", '"str-a"'),
    ("null", "POST", "/v1/rooms", "null"),
    ("trailing garbage", "POST", "/v1/rooms", '{"id":"trail-a"} x'),
    ("two objects", "POST", "/v1/rooms", '{"id":"two-a"}{"id":"two-b"}'),
    ("invalid UTF-8", "POST", "/v1/rooms", b'{"id":"utf\xff"}'),
    ("empty body", "POST", "/v1/rooms", ""),
]

for _name, _method, _path, _body in BAD_BODIES:
    def _make_body(name, method, path, body):
        @case("control", f"bad body: {name}", "400 invalid, nothing stored")
        async def bad():
            p = path.replace("{bob}", CAST.bob.pub)
            a = await api(method, p, body, who=CAST.root)
            rooms = await api("GET", "/v1/rooms", who=CAST.root)
            text = body.decode(errors="replace") if isinstance(body, bytes) else body
            mine = re.findall(r"[a-z]+-[a-z]\b", text)  # the room ids this body names
            leaked = [r for r in mine if f'"{r}"' in rooms.text]
            got = str(a) + (f"; rooms created: {leaked}" if leaked else "")
            return got, a.status == 400 and a.code == "invalid" and not leaked
    _make_body(_name, _method, _path, _body)


# ---- control plane: errors the HTTP layer produces, each with a JSON body

RAW_ERRORS = [
    ("lowercase method", lambda: request_bytes("get", "/v1/me", headers=[("Connection", "close")]), (400, 405, 501)),
    ("malformed request line", lambda: b"GARBAGE\r\n\r\n", (400,)),
    ("HTTP/9.9", lambda: request_bytes("GET", "/healthz", version="HTTP/9.9", headers=[("Connection", "close")]), (400, 505)),
    ("header line without a colon", lambda: request_bytes("GET", "/v1/me", headers=[("Connection", "close")]).replace(b"Host:", b"NoColonHere\r\nHost:"), (400,)),
    ("huge Signature-Input (20 KiB)", lambda: request_bytes("GET", "/v1/me", headers=[("Signature-Input", "sig1=(" + "a" * 20480 + ")"), ("Signature", "sig1=:AA==:"), ("Connection", "close")]), (400, 431)),
    ("large Signature-Input (8 KiB, under the limit)", lambda: request_bytes("GET", "/v1/me", headers=[("Signature-Input", "sig1=(" + '"x" ' * 2048 + ")"), ("Signature", "sig1=:AA==:"), ("Connection", "close")]), (400, 401)),
    ("200 header fields", lambda: request_bytes("GET", "/v1/me", headers=[(f"X-H{i}", "v") for i in range(200)] + [("Connection", "close")]), (400, 431)),
    ("40 KiB request head", lambda: request_bytes("GET", "/v1/me", headers=[(f"X-Pad{i}", "p" * 8000) for i in range(5)] + [("Connection", "close")]), (400, 431)),
    ("body over 64 KiB", lambda: request_bytes("POST", "/v1/rooms", headers=[("Connection", "close"), ("Content-Type", "application/json")], body=b'{"id":"' + b"a" * 70000 + b'"}'), (413,)),
    ("chunked body over 64 KiB", lambda: request_bytes("POST", "/v1/rooms", headers=[("Connection", "close"), ("Transfer-Encoding", "chunked")]) + b"11170\r\n" + b"a" * 0x11170 + b"\r\n0\r\n\r\n", (413,)),
    ("Content-Length not a number", lambda: request_bytes("POST", "/v1/rooms", headers=[("Connection", "close"), ("Content-Length", "abc")]), (400,)),
    ("Content-Length and Transfer-Encoding (smuggling)", lambda: request_bytes("POST", "/v1/rooms", headers=[("Connection", "close"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n", (400,)),
    ("unknown path", lambda: request_bytes("GET", "/v1/nothing-here", headers=[("Connection", "close")]), (401, 404)),
    ("unknown method", lambda: request_bytes("BREW", "/v1/me", headers=[("Connection", "close")]), (400, 401, 404, 405, 501)),
]

for _name, _make_req, _statuses in RAW_ERRORS:
    def _make_raw(name, make, statuses):
        @case("control", f"raw HTTP: {name}", f"{'/'.join(map(str, statuses))} with a JSON error body")
        async def raw():
            status, body, _, _ = await raw_http(make(), wait=10)
            a = Answer(status or 0, body)
            return http_row(status, body), status in statuses and a.json_error
    _make_raw(_name, _make_req, _statuses)


@case("control", "HTTP/1.0 GET /healthz without Host", "the JSON posture, connection closed")
async def http10():
    status, body, closed, _ = await raw_http(b"GET /healthz HTTP/1.0\r\n\r\n", wait=10)
    a = Answer(status or 0, body)
    posture = isinstance(a.json, dict) and "status" in a.json
    problems = "; ".join(a.json.get("problems") or []) if posture else ""
    got = f"{status} {'posture' if posture else 'NOT JSON'}{' (' + problems[:70] + ')' if problems else ''}, {'closed' if closed else 'LEFT OPEN'}"
    return got, status in (200, 503) and posture and closed


@case("data", "/healthz counts the planted small-order key as left out of the ACL, naming no key", "left_out_of_acl >= 1, no key in the body")
async def ghost_reported():
    status, body, _, _ = await raw_http(request_bytes("GET", "/healthz", headers=[("Connection", "close")]), wait=10)
    a = Answer(status or 0, body)
    left = a.json.get("left_out_of_acl", 0) if isinstance(a.json, dict) else 0
    counted = isinstance(left, int) and left >= 1
    leaked = IDENTITY in (body or "")
    return f"{status}, left_out_of_acl {left}{', NAMES THE KEY' if leaked else ''}", counted and not leaked


@case("control", "HTTP/1.0 with Host evil.example", "421 misdirected")
async def http10_evil():
    status, body, _, _ = await raw_http(b"GET /v1/me HTTP/1.0\r\nHost: evil.example\r\n\r\n", wait=10)
    a = Answer(status or 0, body)
    return http_row(status, body), a.status == 421 and a.code == "misdirected"


# ---- control plane: slow, idle and incomplete connections

SLOW_BOUND = 16.0   # head and body limits are 10 s
IDLE_BOUND = 40.0   # idle keep-alive limit is 30 s


def slow_row(closed, elapsed, status, body, bound):
    if not closed:
        return f"STILL OPEN after {bound:.0f} s", False
    extra = f", answered {http_row(status, body)}" if status else ""
    json_ok = status is None or Answer(status, body).json_error
    return f"closed after {elapsed:.1f} s{extra}", elapsed <= bound and json_ok


@case("timeouts", "TLS connection that never sends a byte", f"closed within {SLOW_BOUND:.0f} s")
async def idle_new():
    status, body, closed, elapsed = await raw_http(b"", wait=SLOW_BOUND + 4)
    return slow_row(closed, elapsed, status, body, SLOW_BOUND)


@case("timeouts", "TCP connection that never starts TLS", f"closed within {SLOW_BOUND:.0f} s")
async def idle_tcp():
    status, body, closed, elapsed = await raw_http(b"", wait=SLOW_BOUND + 4, tls=False)
    return slow_row(closed, elapsed, None, "", SLOW_BOUND)


@case("timeouts", "slowloris: one header line a second, never finished", f"closed within {SLOW_BOUND:.0f} s")
async def slowloris():
    chunks = [f"GET /healthz HTTP/1.1\r\nHost: {WORLD['authority']}\r\n".encode()] + [f"X-Slow-{i}: y\r\n".encode() for i in range(40)]
    status, body, closed, elapsed = await raw_http(None, chunks=chunks, interval=1.0, wait=SLOW_BOUND + 4)
    return slow_row(closed, elapsed, status, body, SLOW_BOUND)


@case("timeouts", "slow body: 10 bytes a second of a 1000-byte body", f"closed within {SLOW_BOUND:.0f} s")
async def slow_body():
    head = request_bytes("POST", "/v1/rooms", headers=[("Content-Type", "application/json"), ("Content-Length", "1000")])
    status, body, closed, elapsed = await raw_http(None, chunks=[head] + [b"a" * 10] * 40, interval=1.0, wait=SLOW_BOUND + 4)
    return slow_row(closed, elapsed, status, body, SLOW_BOUND)


@case("timeouts", "incomplete body: 10 of 100 bytes, then silence", f"closed within {SLOW_BOUND:.0f} s")
async def incomplete_body():
    head = request_bytes("POST", "/v1/rooms", headers=[("Content-Type", "application/json"), ("Content-Length", "100")])
    status, body, closed, elapsed = await raw_http(head + b'{"id":"in', wait=SLOW_BOUND + 4)
    return slow_row(closed, elapsed, status, body, SLOW_BOUND)


@case("timeouts", "idle keep-alive after one request", f"closed within {IDLE_BOUND:.0f} s")
async def idle_keepalive():
    status, body, closed, elapsed = await raw_http(request_bytes("GET", "/healthz"), wait=IDLE_BOUND + 5)
    return slow_row(closed, elapsed, None, "", IDLE_BOUND)


# ---- control plane: rooms keep an owner, retries are safe

LAST_OWNER = [  # (case, room, method, who asks)
    ("sole owner leaves her room", "lone1", "DELETE", "olga"),
    ("sole owner demotes herself", "lone2", "PUT", "olga"),
    ("an admin removes a room's sole owner", "lone3", "DELETE", "root"),
    ("an admin demotes a room's sole owner", "lone4", "PUT", "root"),
]

for _name, _room, _method, _who in LAST_OWNER:
    def _make_last_owner(name, room, method, who):
        @case("control", name, "409 conflict")
        async def last_owner():
            await must(api("POST", "/v1/rooms", json.dumps({"id": room}), who=CAST.olga), 200, 201)
            body = '{"role":"member"}' if method == "PUT" else None
            a = await api(method, f"/v1/rooms/{room}/members/{CAST.olga.pub}", body, who=getattr(CAST, who))
            return str(a), a.status == 409 and a.code == "conflict"
    _make_last_owner(_name, _room, _method, _who)


@case("control", "owner steps down once another owner exists (control)", "200")
async def two_owners():
    await must(api("POST", "/v1/rooms", '{"id":"duo"}', who=CAST.olga), 200, 201)
    await must(api("PUT", f"/v1/rooms/duo/members/{CAST.bob.pub}", '{"role":"owner"}', who=CAST.olga), 200, 201)
    a = await api("PUT", f"/v1/rooms/duo/members/{CAST.olga.pub}", '{"role":"member"}', who=CAST.olga)
    return str(a), a.status == 200


@case("control", "POST /v1/rooms repeated identically", "201 then 200")
async def retry_room():
    a = await api("POST", "/v1/rooms", '{"id":"retry-room"}', who=CAST.mallory)
    b = await api("POST", "/v1/rooms", '{"id":"retry-room"}', who=CAST.mallory)
    return f"{a} then {b}", a.status == 201 and b.status == 200


@case("control", "POST /v1/rooms of another's existing room", "409 conflict")
async def retry_room_other():
    await must(api("POST", "/v1/rooms", '{"id":"taken-room"}', who=CAST.bob), 200, 201)
    a = await api("POST", "/v1/rooms", '{"id":"taken-room"}', who=CAST.mallory)
    return str(a), a.status == 409 and a.code == "conflict"


@case("control", "POST /v1/users repeated identically", "201 then 200")
async def retry_user():
    p = Person("rita")
    body = json.dumps({"sign_pub": p.pub, "handle": "rita", "role": "member"})
    a = await api("POST", "/v1/users", body, who=CAST.root)
    b = await api("POST", "/v1/users", body, who=CAST.root)
    return f"{a} then {b}", a.status == 201 and b.status == 200


@case("control", "POST /v1/users: same key, another handle", "409 conflict")
async def retry_user_other_handle():
    a = await api("POST", "/v1/users", json.dumps({"sign_pub": CAST.bob.pub, "handle": "bobby", "role": "member"}), who=CAST.root)
    return str(a), a.status == 409 and a.code == "conflict"


@case("control", "POST /v1/users: same handle, another key", "409 conflict")
async def retry_user_other_key():
    a = await api("POST", "/v1/users", json.dumps({"sign_pub": Person("x").pub, "handle": "bob", "role": "member"}), who=CAST.root)
    return str(a), a.status == 409 and a.code == "conflict"


@case("control", "POST /v1/users: same key, role admin instead of member", "409 conflict")
async def retry_user_other_role():
    a = await api("POST", "/v1/users", json.dumps({"sign_pub": CAST.bob.pub, "handle": "bob", "role": "admin"}), who=CAST.root)
    return str(a), a.status == 409 and a.code == "conflict"


@case("control", "POST /v1/users: re-adding a revoked key as it was", "409 conflict")
async def retry_user_revoked():
    a = await api("POST", "/v1/users", json.dumps({"sign_pub": CAST.rex.pub, "handle": "rex", "role": "member"}), who=CAST.root)
    return str(a), a.status == 409 and a.code == "conflict"


# --------------------------------------------------------------------------- runner


def load_world(path):
    """World keys: name, groups (data|keys|control|timeouts), store (sqlite|kv), nats_url, ca,
    cert, key, https (base URL), http_port, origin, authority, admin_seed_file (hex seed of the
    admin `root`), internal_seed_file, conf (nats-server.conf), db (SQLite file), membershipd,
    cli_store (the STORE arguments), cwd."""
    WORLD.update(json.load(open(path)))


RELOAD_REFUSALS = []


def ALWAYS_ACTIVE():  # noqa: N802 - the users no case revokes
    return [CAST.ana, CAST.bob, CAST.mallory, CAST.yan, CAST.olga]


async def run_case(group, name, expected, fn):
    try:
        got, ok = await asyncio.wait_for(fn(), 90)
    except Exception as e:  # noqa: BLE001 - an exception is a result too
        here = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith("attack_probe.py")]
        where = f" (line {here[-1].lineno}: {here[-1].line})" if here else ""
        got, ok = f"probe error: {type(e).__name__}: {str(e)[:120]}{where}", False
    row = {"group": group, "case": name, "expected": expected, "got": got, "ok": bool(ok)}
    print(json.dumps(row), flush=True)
    return row


async def main():
    load_world(sys.argv[1])
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=24))
    only = os.environ.get("ATTACK_ONLY")
    try:
        await setup()
    except Exception as e:  # noqa: BLE001
        print(f"error: setup failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    chosen = [c for c in CASES if c[0] in WORLD["groups"] and (not only or only in c[1])]
    sem = asyncio.Semaphore(int(os.environ.get("ATTACK_PARALLEL", "16")))

    async def limited(c):
        async with sem:
            return await run_case(*c[:4])

    rows = await asyncio.gather(*[limited(c) for c in chosen if not c[4]])
    rows += await asyncio.gather(*[limited(c) for c in chosen if c[4]])
    failed = sum(1 for r in rows if not r["ok"])
    print(json.dumps({"done": len(rows), "failed": failed, "connects_refused_during_reload": len(RELOAD_REFUSALS), "refused_handles": sorted(set(RELOAD_REFUSALS))}), flush=True)
    for c in (CAST.bob_conn, CAST.ana_conn):
        await c.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
