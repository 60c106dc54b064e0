#!/usr/bin/env python3
"""Raw bytes over TLS (or bare TCP) to the control plane, with timing: what a slow, broken or
old client does, which an HTTP library would not send.

Started by the Swift suite (MembershipdTests/ControlPlaneTransportTests.swift).

Usage: raw_http_peer.py HOST PORT CA|- PLAN_JSON
PLAN_JSON: {"steps": [STEP...], "read_for": seconds}; CA "-" means bare TCP, no TLS handshake.
STEP: {"send": text} | {"wait": seconds} | {"trickle": text, "every": seconds, "for": seconds}
Reads whatever arrives during waits and afterwards, until the server closes or read_for passes.
Prints {"received": text, "closed": bool, "closed_at": s, "first_byte_at": s} (s since connect).
"""
import json
import socket
import ssl
import sys
import time


class Peer:
    def __init__(self, host, port, ca):
        self.start = time.monotonic()
        raw = socket.create_connection((host, int(port)), timeout=10)
        if ca == "-":
            self.sock = raw
        else:
            context = ssl.create_default_context(cafile=ca)
            context.check_hostname = False
            self.sock = context.wrap_socket(raw, server_hostname=host)
        self.received = b""
        self.closed_at = None
        self.first_byte_at = None

    def now(self):
        return time.monotonic() - self.start

    def read_for(self, seconds):
        """Collects bytes for `seconds`; stops early when the server closes."""
        deadline = time.monotonic() + seconds
        while self.closed_at is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            except (ssl.SSLError, OSError):
                data = b""
            if not data:
                self.closed_at = self.now()
                return
            if self.first_byte_at is None:
                self.first_byte_at = self.now()
            self.received += data

    def send(self, text):
        if self.closed_at is not None:
            return
        try:
            self.sock.sendall(text.encode("latin-1"))
        except (ssl.SSLError, OSError):
            self.read_for(0.2)
            if self.closed_at is None:
                self.closed_at = self.now()


def main():
    host, port, ca, plan_text = sys.argv[1:5]
    plan = json.loads(plan_text)
    peer = Peer(host, port, ca)
    for step in plan.get("steps", []):
        if "send" in step:
            peer.send(step["send"])
        elif "wait" in step:
            peer.read_for(step["wait"])
        elif "trickle" in step:
            until = time.monotonic() + step["for"]
            while time.monotonic() < until and peer.closed_at is None:
                peer.send(step["trickle"])
                peer.read_for(step["every"])
    peer.read_for(plan.get("read_for", 5))
    print(json.dumps({"received": peer.received.decode("latin-1"), "closed": peer.closed_at is not None,
                      "closed_at": peer.closed_at, "first_byte_at": peer.first_byte_at}))


if __name__ == "__main__":
    main()
