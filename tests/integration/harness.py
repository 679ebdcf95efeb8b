"""Integration-test harness: starts the real token-factory binary (with its
embedded redis-server and SQLite in a temp dir), talks real HTTP over
loopback, and checks that it stops cleanly: exit status 0, no sanitizer
report, no process left behind. Standard library only.

A test file defines functions decorated with @case and calls main(); each
case prints "PASS name" or "FAIL name: reason". Everything is bounded in
time; servers are stopped by PID.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build/asan")
BINARY = os.path.join(BUILD, "token-factory")

_cases = []


def case(fn):
    _cases.append(fn)
    return fn


def main():
    failed = 0
    only = os.environ.get("TEST_CASE")
    for fn in _cases:
        if only and fn.__name__ != only:
            continue
        t0 = time.time()
        try:
            fn()
            print(f"PASS {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            print(f"FAIL {fn.__name__}: {e!r}", flush=True)
            traceback.print_exc(file=sys.stdout)
    sys.exit(1 if failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid):
    """All live descendant PIDs of pid (via /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    for c in f.read().split():
                        out.append(int(c))
                        todo.append(int(c))
        except OSError:
            pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")


class Gateway:
    """One gateway process tree. Use as a context manager."""

    def __init__(self, workers=2, env=None, data_dir=None):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="tf-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "gateway.log")
        self.env = dict(os.environ)
        self.env.update({
            "PORT": str(self.port), "BIND_ADDRESS": "127.0.0.1", "DATA_DIR": self.data_dir,
            "WORKERS": str(workers), "GW_TEST_HOOKS": "true", "SHUTDOWN_TIMEOUT": "10",
            "STATIC_DIR": os.path.join(self.tmp, "no-ui"), "LOG_LEVEL": "info",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
            # Every test client is 127.0.0.1: the per-IP limits (defaults 180
            # /api requests per 3 min, 20 sign-ins per 20 min) are off unless
            # a test turns them on (test_ratelimit_ip.py).
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false", "GLOBAL_WEB_RATE_LIMIT_ENABLE": "false",
            "CRITICAL_RATE_LIMIT_ENABLE": "false",
        })
        for k in ("SQL_DSN", "REDIS_CONN_STRING", "SQLITE_PATH"):
            self.env.pop(k, None)
        self.env.update(env or {})
        self.proc = None
        self.exit_code = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, et, ev, tb):
        if self.proc and self.proc.poll() is None:
            code = self.stop(check=et is None)
            return False
        return False

    def start(self, timeout=60):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BINARY], env=self.env, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "listening on" in self.read_log() or self.proc.poll() is not None,
                     timeout, what="gateway start")
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited {self.proc.returncode}:\n{self.read_log()}")
            wait_for(self._status_ok, timeout, what="/api/status")
        except Exception:
            self.kill()
            raise
        return self

    def _status_ok(self):
        try:
            st, _, body = request("GET", self.port, "/api/status", timeout=2)
            return st == 200 and json.loads(body).get("success") is True
        except (OSError, ValueError):
            return False

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def pids(self):
        return [self.proc.pid] + descendants(self.proc.pid)

    def stop(self, sig=signal.SIGTERM, timeout=60, check=True):
        """Stops the tree; with check, asserts a clean exit and no leftovers."""
        procs = self.pids()
        self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("gateway did not stop in time")
        left = wait_for(lambda: not any(alive(p) for p in procs) or "none", 10,
                        what="children to exit")
        leftovers = [p for p in procs if alive(p)]
        for p in leftovers:
            os.kill(p, signal.SIGKILL)
        self.log.close()
        if check:
            log = self.read_log()
            assert not SANITIZER_RE.search(log), f"sanitizer report:\n{log[-6000:]}"
            assert self.exit_code == 0, f"exit code {self.exit_code}:\n{log[-4000:]}"
            assert not leftovers, f"processes left behind: {leftovers}"
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.exit_code

    def kill(self):
        for p in reversed(self.pids()):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def stats(self):
        st, _, body = request("GET", self.port, "/__test/stats")
        assert st == 200, st
        return json.loads(body)


# ---- raw HTTP over loopback ---------------------------------------------------

def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Responses:
    """Reads consecutive HTTP/1.1 responses from one socket, keeping the bytes
    of a response that arrived with the one before it (pipelining)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _more(self, what):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed {what}: {self.buf[:200]!r}")
        self.buf += chunk

    def _take(self, n, what):
        while len(self.buf) < n:
            self._more(what)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self, head_only=False):
        """(status, headers dict, body bytes); Content-Length and chunked."""
        while b"\r\n\r\n" not in self.buf:
            self._more("before headers")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if status == 100:
            return status, headers, self.buf
        if head_only or status in (204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more("inside chunked body")
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line, 16)
                body += self._take(size + 2, "inside chunk")[:size]
                if size == 0:
                    return status, headers, body
        return status, headers, self._take(int(headers.get("content-length", "0")), "inside body")


def read_response(sock, head_only=False):
    """Reads one HTTP/1.1 response; returns (status, headers dict, body bytes).
    Handles Content-Length and chunked bodies. Bytes past it are dropped: use
    Responses for pipelined answers."""
    return Responses(sock).read(head_only)


def request(method, port, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    if data is not None:
        h["Content-Length"] = str(len(data))
    raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    with connect(port, timeout) as s:
        s.sendall(raw.encode() + (data or b""))
        return read_response(s, head_only=(method == "HEAD"))


def get_json(port, path, **kw):
    st, h, body = request("GET", port, path, **kw)
    return st, h, json.loads(body)
