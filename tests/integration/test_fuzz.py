#!/usr/bin/env python3
"""The worker survives 1,000 pipelined and garbage requests: random bytes,
oversized headers, truncated bodies, bad framing; and random batches of
pipelined requests, sent in one packet or cut at random points, are each
answered once, in order. Seeded, so a failure reproduces; bounded in count
and time."""
import json
import os
import random
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, Responses, case, connect, main, request, wait_for  # noqa: E402

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


# Header names lws 4.1.6 misparsed (a strict prefix of a name it knows).
PREFIXES = [b"X-F", b"X", b"Us", b"Autho", b"Acc", b"Con", b"Content-Typ", b"Ho", b"Or"]


def body_sum(b):
    s = 0
    for c in b:
        s = (s * 31 + c) & 0xFFFFFFFFFFFFFFFF
    return s & 0x7fffffff


def pipelined_batch(rng, batch):
    """(bytes, expected [(method, query, body, last header)]) for 1-5 requests."""
    reqs, want = [], []
    for i in range(rng.randrange(1, 6)):
        method = rng.choice([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE"])
        query = b"b=%d&i=%d" % (batch, i)
        hdrs = [b"Host: x"]
        for _ in range(rng.randrange(3)):
            hdrs.append(rng.choice(PREFIXES) + b": " + rng.choice([b"1", b"", b"a:b", b"x y"]))
        last = b"X-Last-%d" % i
        hdrs.append(last + b": ok")
        body = b""
        if method != b"GET" or rng.random() < 0.2:  # a GET may carry a body too
            body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 10, 300, 5000])))
            hdrs.append(b"Content-Length: %d" % len(body))
        reqs.append(b"%s /__test/echo?%s HTTP/1.1\r\n%s\r\n\r\n%s" %
                    (method, query, b"\r\n".join(hdrs), body))
        want.append((method.decode(), query.decode(), body, last.decode()))
    return b"".join(reqs), want


@case
def pipelined_batches_are_answered_once_in_order():
    rng = random.Random(SEED + 1)
    g = Gateway(workers=1).start()
    try:
        pid = g.stats()["pid"]
        rids = []
        for batch in range(150):
            data, want = pipelined_batch(rng, batch)
            with connect(g.port, timeout=10) as s:
                if rng.random() < 0.5:
                    s.sendall(data)  # one packet
                else:  # cut at random points, small pauses between
                    cuts = sorted(rng.randrange(len(data)) for _ in range(rng.randrange(1, 4)))
                    prev = 0
                    for c in cuts + [len(data)]:
                        s.sendall(data[prev:c])
                        prev = c
                rd = Responses(s)
                for method, query, body, last in want:
                    st, h, b = rd.read()
                    j = json.loads(b)
                    assert st == 200, (batch, st, b)
                    assert (j["method"], j["query"]) == (method, query), (batch, j, method, query)
                    assert j["body_len"] == len(body) and j["body_sum"] == body_sum(body), batch
                    assert [last, "ok"] in j["headers"], (batch, j["headers"])
                    rids.append(h["x-oneapi-request-id"])
        st, _, _ = request("GET", g.port, "/api/status", timeout=10)
        assert st == 200
        assert g.stats()["pid"] == pid, "the worker was replaced: it crashed"
        wait_for(lambda: rids[-1] in g.read_log(), 10, what="access log")
        log = g.read_log()
        for r in rids:
            assert log.count(r) == 1, r  # one access-log line per request
    finally:
        g.stop()


if __name__ == "__main__":
    main()
