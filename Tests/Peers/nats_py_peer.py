#!/usr/bin/env python3
"""A data-plane peer nobody on this project wrote: nats-py + nkeys from PyPI.

Started by the Swift test suite (MembershipdTests/PeerClientTests.swift). It connects with a
client certificate and an nkey seed *file*, then prints one JSON object per line on stdout:

  {"event": "ready", "roundtrip": true, "violations": ["Permissions Violation for Publish to ..."]}
  {"event": "closed", "after": 0.08}          (when the server closes the connection)
  {"event": "refused", "error": "..."}        (when the connection is refused)

Usage: nats_py_peer.py URL CA CERT KEY SEED_FILE HANDLE ROOM FORBIDDEN_ROOM
"""
import asyncio
import json
import ssl
import sys
import time

import nats


def say(**fields):
    print(json.dumps(fields), flush=True)


async def main():
    url, ca, cert, key, seed_file, handle, room, forbidden = sys.argv[1:9]
    tls = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    if cert != "-":
        tls.load_cert_chain(certfile=cert, keyfile=key)
    errors = []
    closed = asyncio.Event()

    async def on_error(e):
        errors.append(str(e))

    async def on_closed():
        closed.set()

    async def on_disconnected():
        closed.set()

    try:
        nc = await nats.connect(
            servers=[url], tls=tls, nkeys_seed=seed_file, inbox_prefix=f"_INBOX.{handle}",
            error_cb=on_error, closed_cb=on_closed, disconnected_cb=on_disconnected,
            allow_reconnect=False, connect_timeout=3, max_reconnect_attempts=0,
        )
    except Exception as e:  # noqa: BLE001 - the refusal itself is the result
        say(event="refused", error=f"{type(e).__name__}: {e}; async errors: {errors}")
        return

    got = asyncio.get_running_loop().create_future()

    async def on_msg(msg):
        if not got.done():
            got.set_result(msg.data)

    await nc.subscribe(f"unibus.room.{room}.>", cb=on_msg)
    await nc.flush()
    await nc.publish(f"unibus.room.{room}.peer", b"from nats-py")
    try:
        roundtrip = (await asyncio.wait_for(got, 3)) == b"from nats-py"
    except asyncio.TimeoutError:
        roundtrip = False
    await nc.publish(f"unibus.room.{forbidden}", b"nope")
    await nc.publish("$JS.API.INFO", b"nope")
    try:
        await nc.flush(timeout=2)
    except Exception:  # noqa: BLE001
        pass
    deadline = time.monotonic() + 3
    while len([e for e in errors if "permissions violation" in e.lower()]) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    say(event="ready", roundtrip=roundtrip, violations=[e for e in errors if "permissions violation" in e.lower()], errors=errors)

    # Wait for the operator to revoke us (the test does it after reading "ready").
    start = time.monotonic()
    try:
        await asyncio.wait_for(closed.wait(), 15)
        say(event="closed", after=round(time.monotonic() - start, 3), errors=errors[-3:])
    except asyncio.TimeoutError:
        say(event="still-open")
        await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
