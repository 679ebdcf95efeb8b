#!/usr/bin/env python3
"""The worker survives 1,000 pipelined and garbage requests: random bytes,
oversized headers, truncated bodies, bad framing. Seeded, so a failure
reproduces; bounded in count and time."""
import os
import random
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, connect, main, request  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "20261126"))


def garbage(rng):
    kind = rng.randrange(9)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2048)))
    if kind == 1:  # oversized header
        return b"GET /api/status HTTP/1.1\r\nX-Big: " + b"a" * rng.choice([5000, 20000, 70000]) + b"\r\n\r\n"
    if kind == 2:  # truncated body
        return b"POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"{" * rng.randrange(499)
    if kind == 3:  # pipelined valid + invalid
        ok = b"POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        return ok * rng.randrange(1, 5) + bytes(rng.randrange(256) for _ in range(64))
    if kind == 4:  # bad request line / method
        return rng.choice([b"BREW /pot HTTP/1.1\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                           b"\r\n\r\n\r\n", b"GET /%zz%00 HTTP/1.1\r\n\r\n",
                           b"GET /" + b"x" * 10000 + b" HTTP/1.1\r\n\r\n"])
    if kind == 5:  # conflicting / bad lengths
        return rng.choice([b"POST /__test/echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                           b"POST /__test/echo HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                           b"POST /__test/echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                           b"POST /__test/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
    if kind == 6:  # many headers
        return b"GET /api/status HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(rng.randrange(50, 400))) + b"\r\n"
    if kind == 7:  # websocket upgrade with junk
        return b"GET /__test/ws-echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n" + os.urandom(64)
    return b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"


@case
def worker_survives_a_thousand_bad_requests():
    rng = random.Random(SEED)
    g = Gateway(workers=1).start()
    try:
        pid_before = g.stats()["pid"]
        for i in range(1000):
            try:
                s = connect(g.port, timeout=2)
                s.sendall(garbage(rng))
                if rng.random() < 0.3:
                    s.settimeout(0.2)  # read what comes back, if anything
                    try:
                        s.recv(65536)
                    except (socket.timeout, OSError):
                        pass
                s.close()
            except OSError:
                pass
            if i % 100 == 99:
                st, _, _ = request("GET", g.port, "/api/status", timeout=10)
                assert st == 200, f"status {st} after {i + 1} requests"
        st = g.stats()
        assert st["pid"] == pid_before, "the worker was replaced: it crashed"
        assert "restarting" not in g.read_log()
    finally:
        g.stop()


if __name__ == "__main__":
    main()
