#!/usr/bin/env python3
"""Benchmark harness (issue 6): the gateway side by side with plain nginx.

usage: tests/bench/run.py [BUILD_DIR] [--smoke] [--out FILE] [--no-perf] [--serve SECONDS]
                         [--converted]

Starts, all on 127.0.0.1 and all stopped by PID at the end:
  - mock upstream: nginx, 1 worker, answering every POST from memory with a
    fixed chat completion (/json/...), a static SSE body of 20 content
    events + a finish event + a usage chunk + [DONE] (/sse/...), and the same
    SSE body rate-limited after its first event (/slow/...) to hold streams
    open;
  - Redis (unix socket, AOF everysec, as the embedded one);
  - the gateway from BUILD_DIR (default build/release), SQLite, with a root
    user, three channels (one per mock location), a token; real billing:
    every request reserves, settles and writes a ledger entry;
  - nginx as a plain reverse proxy to the same mock (upstream keepalive, as
    many workers as the gateway).
Then drives them with wrk and tests/bench/sseload.c, prints a table, and
writes RESULTS.md (default tests/bench/RESULTS.md; --smoke writes only with
--out). Everything after the line ANALYSIS_MARK in an existing RESULTS.md is
kept: that is the hand-written analysis.

--serve SECONDS: start everything, print the ports, the key and the load
commands, keep it up for SECONDS (at most 3600) for profiling by hand, stop.

--smoke: about a second per figure and 200 held streams; asserts nothing
about speed, only that every figure was produced (exit status 1 otherwise).

--converted: only figure (h) (tests/bench/converted.py: an Anthropic client
streaming through /v1/messages to the OpenAI upstream, CPU per call against
the same-format chat stream); replaces only its section of RESULTS.md.
"""
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import converted  # noqa: E402  (figure (h))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANALYSIS_MARK = "<!-- analysis: everything below is kept by run.py -->"

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SMOKE = "--smoke" in sys.argv
NO_PERF = "--no-perf" in sys.argv or SMOKE
CONVERTED_ONLY = "--converted" in sys.argv
OUT = None
SERVE = 0
if "--serve" in sys.argv:
    SERVE = min(3600, int(sys.argv[sys.argv.index("--serve") + 1]))
    ARGS = [a for a in ARGS if a != str(SERVE) and a != sys.argv[sys.argv.index("--serve") + 1]]
if "--out" in sys.argv:
    OUT = sys.argv[sys.argv.index("--out") + 1]
    ARGS = [a for a in ARGS if a != OUT]
elif not SMOKE and not SERVE:
    OUT = os.path.join(HERE, "RESULTS.md")
BUILD = os.path.abspath(ARGS[0]) if ARGS else os.path.join(ROOT, "build/release")
BINARY = os.path.join(BUILD, "token-factory")

# Durations (seconds) and sizes; smoke mode is a few seconds per figure.
D_TPUT = 1 if SMOKE else 8        # (a) and (g), per target and round
ROUNDS = 1 if SMOKE else 2        # (a): rounds, interleaved, median kept
D_LAT = 1 if SMOKE else 8         # (b)
N_TTFE = 50 if SMOKE else 2000    # (c) requests per target
N_STREAMS = 200 if SMOKE else 10000
HOLD_S = 2 if SMOKE else 10       # (d) seconds the streams are held
D_REDIS = 1 if SMOKE else 5       # (e)
WATCHDOG_S = 240 if SMOKE else 900

WORKERS = os.cpu_count() or 2
MODEL_JSON, MODEL_SSE, MODEL_SLOW = "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"
QUOTA = 10 ** 14            # the user's quota
TOKEN_QUOTA = 2 ** 31 - 1   # the largest a token takes; about 400M requests here

PROCS = []       # (name, Popen) in start order; stopped in reverse
COMMANDS = []    # every load command line, for RESULTS.md
LOG = []         # what was printed, for the smoke test


def say(msg):
    print(msg, flush=True)
    LOG.append(msg)


# ---- processes ------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
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


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def start(name, argv, env=None, log=None):
    f = open(log or os.devnull, "ab")
    p = subprocess.Popen(argv, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=TMP)
    f.close()
    PROCS.append((name, p))
    return p


def stop(p, sig=signal.SIGTERM, timeout=30):
    """Stops one process tree we started: the signal to its root, then
    SIGKILL to whatever of the tree is left after timeout."""
    if p.poll() is not None:
        return p.returncode
    tree = children(p.pid)
    p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    for pid in [p.pid] + tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass
    return p.returncode


def stop_all():
    for name, p in reversed(PROCS):
        stop(p, signal.SIGQUIT if name.startswith("nginx") else signal.SIGTERM)
    PROCS.clear()


def wait_for(pred, timeout, what, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def mem_kib(pids):
    """(sum of VmRSS, sum of Pss) in KiB over pids. Pss splits pages shared
    between the forked workers fairly; the RSS sum counts them once per process."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss += int(re.search(r"Pss:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return rss, pss


# ---- HTTP ----------------------------------------------------------------------

def http(port, method, path, body=None, headers=None, timeout=10):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    if data is not None:
        h["Content-Length"] = str(len(data))
        h.setdefault("Content-Type", "application/json")
    raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw.encode() + b"\r\n" + (data or b""))
        buf = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            buf += c
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():
        body, rest2 = b"", rest
        while rest2:
            size_s, _, rest2 = rest2.partition(b"\r\n")
            n = int(size_s, 16)
            if n == 0:
                break
            body += rest2[:n]
            rest2 = rest2[n + 2:]
        rest = body
    return status, head.decode("latin-1"), rest


def api(port, method, path, token=None, body=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    st, _, b = http(port, method, path, body=body, headers=h)
    try:
        return st, json.loads(b) if b else None
    except ValueError:
        return st, b


# ---- mock upstream and reference proxy ---------------------------------------------

def chat_json(model):
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1735689600,
        "model": model, "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None,
                     "content": "The quick brown fox jumps over the lazy dog."},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}},
        separators=(",", ":"))


def sse_body(model):
    def ev(choices, usage=None):
        return "data: " + json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1735689600,
            "model": model, "system_fingerprint": "fp_bench", "choices": choices,
            "usage": usage}, separators=(",", ":")) + "\n\n"
    out = [ev([{"index": 0, "delta": {"role": "assistant", "content": ""},
                "finish_reason": None}])]
    for i in range(20):
        out.append(ev([{"index": 0, "delta": {"content": f" word{i:02d}"},
                        "finish_reason": None}]))
    out.append(ev([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    out.append(ev([], {"prompt_tokens": 19, "completion_tokens": 20, "total_tokens": 39}))
    out.append("data: [DONE]\n\n")
    return "".join(out)


def nginx_str(s):
    """An nginx single-quoted string: the config parser unescapes \\n."""
    assert "'" not in s and "\\" not in s and "$" not in s
    return "'" + s.replace("\n", "\\n") + "'"


def nginx_return(var, s, limit=3000):
    """`set` directives and a `return 200` of the string s. One config token
    is at most 4 KiB, so a longer body is set in pieces and concatenated."""
    parts, cur = [], ""
    for piece in s.split("\n"):
        if len(cur) + len(piece) > limit and cur:
            parts.append(cur)
            cur = ""
        cur += piece + "\n"
    parts.append(cur[:-1])
    sets = " ".join(f"set ${var}{i} {nginx_str(p)};" for i, p in enumerate(parts))
    return sets + ' return 200 "' + "".join(f"${var}{i}" for i in range(len(parts))) + '";'


NGINX_COMMON = """daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections {conns}; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
{body}
}}
"""


def nginx_conf(name, workers, body):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    conf = NGINX_COMMON.format(workers=workers, nofile=nofile, dir=d, conns=nofile - 100,
                               user="user root root;" if os.geteuid() == 0 else "", body=body)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return d, path


def start_nginx(name, workers, body, port):
    d, conf = nginx_conf(name, workers, body)
    p = start(name, ["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
              log=os.path.join(d, "stdout.log"))
    wait_for(lambda: port_open(port) or p.poll() is not None, 10, name)
    if p.poll() is not None:
        raise RuntimeError(f"{name} exited: " + open(os.path.join(d, "error.log")).read())
    return p


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def mock_body(port):
    # limit_rate_after lets the head and the first event out at once; then
    # 16 B/s keeps the stream open for minutes (the client closes it).
    # nginx counts the response head in limit_rate_after: ~200 bytes here.
    first_ev = len(sse_body(MODEL_SLOW).split("\n\n")[0]) + 2 + 320
    return f"""    server {{
        listen 127.0.0.1:{port} reuseport backlog=8192;
        location /json/ {{ default_type application/json; {nginx_return("j", chat_json(MODEL_JSON))} }}
        location /sse/ {{ default_type text/event-stream; {nginx_return("s", sse_body(MODEL_SSE))} }}
        location /slow/ {{
            default_type text/event-stream;
            limit_rate_after {first_ev};
            limit_rate 16;
            {nginx_return("w", sse_body(MODEL_SLOW))}
        }}
    }}"""


def proxy_body(port, mock_port):
    return f"""    upstream mock {{ server 127.0.0.1:{mock_port}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=8192;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / {{ proxy_pass http://mock; }}
        location /sse/ {{ proxy_pass http://mock; proxy_buffering off; }}
        location /slow/ {{ proxy_pass http://mock; proxy_buffering off; }}
    }}"""


# ---- the gateway -------------------------------------------------------------------

class Gateway:
    def __init__(self, redis_sock):
        self.port = free_port()
        self.data = os.path.join(TMP, "gw-data")
        self.log = os.path.join(TMP, "gateway.log")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SQL_DSN", "SQLITE_PATH", "REDIS_CONN_STRING")}
        self.env.update({
            "PORT": str(self.port), "BIND_ADDRESS": "127.0.0.1", "DATA_DIR": self.data,
            "REDIS_CONN_STRING": "unix://" + redis_sock, "STATIC_DIR": os.path.join(TMP, "no-ui"),
            "SHUTDOWN_TIMEOUT": "5", "LOG_LEVEL": "info",
            # Like the nginx proxy (access_log off); every call still writes
            # its ledger entry and SQL log row.
            "ACCESS_LOG": "false",
            # Only the management calls of the set-up are affected: the
            # per-IP limits are not applied to /v1.
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false", "GLOBAL_WEB_RATE_LIMIT_ENABLE": "false",
            "CRITICAL_RATE_LIMIT_ENABLE": "false",
            "ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1",
        })
        self.proc = None
        self.key = None

    def start(self, workers):
        """Starts and returns seconds from exec to the first answered request."""
        self.env["WORKERS"] = str(workers)
        t0 = time.perf_counter()
        self.proc = start("gateway", [BINARY], env=self.env, log=self.log)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited:\n" + open(self.log).read()[-3000:])
            try:
                return http(self.port, "GET", "/api/status", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(up, 60, "gateway /api/status", interval=0.001)
        return time.perf_counter() - t0

    def stop(self):
        if self.proc:
            stop(self.proc, timeout=30)
            PROCS[:] = [x for x in PROCS if x[1] is not self.proc]
            self.proc = None

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def workers(self):
        return [p for p in self.pids() if comm(p).startswith("tf-worker")]

    def setup(self, mock_port):
        st, j = api(self.port, "POST", "/api/setup",
                    body={"username": "root", "password": "benchpass1",
                          "confirmPassword": "benchpass1"})
        assert j and j.get("success"), j
        st, j = api(self.port, "POST", "/api/user/login",
                    body={"username": "root", "password": "benchpass1"})
        access = j["data"]["access_token"]
        st, j = api(self.port, "GET", "/api/user/token", token=access)
        pat = j["data"]
        st, j = api(self.port, "POST", "/api/user/manage", token=pat,
                    body={"id": 1, "action": "add_quota", "mode": "override", "value": QUOTA})
        assert j["success"], j
        for name, model in (("json", MODEL_JSON), ("sse", MODEL_SSE), ("slow", MODEL_SLOW)):
            ch = {"type": 1, "name": "bench-" + name, "key": "sk-upstream-bench",
                  "base_url": f"http://127.0.0.1:{mock_port}/{name}", "models": model,
                  "group": "default", "priority": 0, "weight": 0}
            st, j = api(self.port, "POST", "/api/channel/", token=pat,
                        body={"mode": "single", "channel": ch})
            assert j["success"], j
        st, j = api(self.port, "POST", "/api/token/", token=pat,
                    body={"name": "bench", "remain_quota": TOKEN_QUOTA, "unlimited_quota": False,
                          "expired_time": -1})
        assert j["success"], j
        db = sqlite3.connect(os.path.join(self.data, "token-factory.db"))
        tid = db.execute("SELECT id FROM tokens WHERE name = 'bench'").fetchone()[0]
        db.close()
        st, j = api(self.port, "POST", f"/api/token/{tid}/key", token=pat)
        key = j["data"]["key"] if isinstance(j["data"], dict) else j["data"]
        self.key = key if key.startswith("sk-") else "sk-" + key

        def routable():
            st, j = api(self.port, "GET", "/v1/models", token=self.key)
            return st == 200 and {MODEL_JSON, MODEL_SSE, MODEL_SLOW} <= {
                m["id"] for m in j.get("data", [])}
        wait_for(routable, 20, "the bench models to be routable", 0.05)


# ---- load -------------------------------------------------------------------------

def body_file(model, stream):
    path = os.path.join(TMP, f"body-{model}-{int(stream)}.json")
    with open(path, "w") as f:
        json.dump({"model": model, "stream": stream, "max_tokens": 64,
                   "messages": [{"role": "user", "content": "Say something short."}]}, f)
    return path


def wrk_script(model, stream, key):
    path = os.path.join(TMP, f"wrk-{model}-{int(stream)}.lua")
    with open(body_file(model, stream)) as f:
        body = f.read()
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n'
                f'wrk.body = [[{body}]]\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {key}"\n')
    return path


def parse_dur(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    v = float(m.group(1))
    return v * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[m.group(2)]  # -> ms


def wrk(url, script, conns, secs, threads=2):
    argv = ["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{secs}s", "--latency",
            "-s", script, url]
    COMMANDS.append(" ".join(argv[:-3] + ["-s", os.path.basename(script), url]))
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=secs + 60)
    out = p.stdout
    r = {"out": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else 0
    for pc in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pc}%\s+(\S+)", out, re.M)
        r["p" + pc] = parse_dur(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    r["sockerr"] = m.group(1) if m else ""
    if r["non2xx"] or not r["requests"]:
        say(f"  warning: {url}: {r['non2xx']} non-2xx, {r['requests']} requests\n{out}")
    return r


def sseload(mode, port, path, body, key=None, extra=()):
    argv = [SSELOAD, mode, "-p", str(port), "-u", path, "-b", body]
    if key:
        argv += ["-H", "Authorization: Bearer " + key]
    argv += list(extra)
    COMMANDS.append(" ".join(["sseload"] + argv[1:]).replace(key or "\0", "$KEY"))
    return argv


def ttfe(port, path, body, key=None):
    argv = sseload("ttfe", port, path, body, key, ["-n", str(N_TTFE)])
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=300)
    if p.returncode:
        raise RuntimeError(f"sseload ttfe failed: {p.stdout} {p.stderr}")
    return json.loads(p.stdout)


def redis_cli(sock, *args):
    return subprocess.run(["redis-cli", "-s", sock] + [str(a) for a in args], text=True,
                          stdout=subprocess.PIPE, check=True, timeout=10).stdout


def commandstats(sock):
    out = {}
    for line in redis_cli(sock, "INFO", "commandstats").splitlines():
        m = re.match(r"cmdstat_(\S+):calls=(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def stats_delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def script_names():
    """sha1 -> file name of every embedded Lua script (the gateway hashes
    the same bytes it loads)."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import lua_scripts  # noqa: E402 (the text the loader composes)
    return lua_scripts.names()


BACKGROUND = re.compile(r"^(X\w+|PING|INFO|CLIENT|SCRIPT)\b|tf:cfgver|tf:nodes|reap\.lua")


def monitor_request_path(rsock, port, body, key, n):
    """MONITOR while n relayed requests run one after another on fresh
    connections. Returns the client commands per request by label (Lua's own
    calls and the background traffic of the ledger process and config poll
    left out), and the round trips: request-path commands less than 30 us
    apart are counted as one pipelined trip."""
    names = script_names()
    path = os.path.join(TMP, "monitor.txt")
    with open(path, "w") as f:
        mon = subprocess.Popen(["redis-cli", "-s", rsock, "MONITOR"], stdout=f,
                               stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        for _ in range(n):
            st, _, b = http(port, "POST", "/v1/chat/completions", body=body,
                            headers={"Authorization": "Bearer " + key})
            assert st == 200, (st, b[:200])
        time.sleep(0.3)
        mon.terminate()
        mon.wait(10)
    per, trips, last_t = {}, 0, None
    for line in open(path, errors="replace"):
        m = re.match(r'([\d.]+) \[\d+ (\S+)\] "(\w+)"(?: "([^"]*)")?', line)
        if not m or m.group(2) == "lua":
            continue
        t, cmd, arg = float(m.group(1)), m.group(3).upper(), m.group(4) or ""
        if cmd in ("EVALSHA", "EVAL"):
            label = f"EVALSHA {names.get(arg, arg[:8])}"
        else:
            label = f"{cmd} " + re.sub(r"[0-9a-f]{16,}", "*",
                                        re.sub(r"\{s\d+\}", "{s}", re.sub(r":\d+", ":N", arg)))
        if BACKGROUND.search(label):
            continue
        per[label] = per.get(label, 0) + 1
        if last_t is None or t - last_t > 30e-6:
            trips += 1
        last_t = t
    return {k: v / n for k, v in per.items()}, trips / n


def hold_streams(port, path, body, key, pids_fn):
    """Opens N_STREAMS slow streams; returns the client's READY/DONE figures
    and the memory of pids_fn() before and while they are held."""
    before = mem_kib(pids_fn())
    argv = sseload("hold", port, path, body, key,
                   ["-n", str(N_STREAMS), "-c", "1000", "-t", str(HOLD_S)])
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = p.stdout.readline()
        if not ready.startswith("READY "):
            raise RuntimeError(f"sseload hold: {ready!r} {p.stderr.read()}")
        r = json.loads(ready[6:])
        time.sleep(min(2, HOLD_S / 2))
        held = mem_kib(pids_fn())
        done = p.stdout.readline()
        r.update(json.loads(done[5:]) if done.startswith("DONE ") else {})
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r["rss_before_kib"], r["pss_before_kib"] = before
    r["rss_held_kib"], r["pss_held_kib"] = held
    n = max(r["streams"], 1)
    r["rss_per_stream_kib"] = (held[0] - before[0]) / n
    r["pss_per_stream_kib"] = (held[1] - before[1]) / n
    return r


# ---- perf ----------------------------------------------------------------------------

def perf_ok():
    if NO_PERF or not shutil.which("perf"):
        return False
    # This VM has no hardware counters (`perf stat -e instructions` says "not
    # supported"), but the cpu-clock software event samples fine.
    p = subprocess.run(["perf", "stat", "-e", "cpu-clock", "true"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode == 0 and "not supported" not in p.stdout


def perf_samples(data):
    """[(pid, comm, [(sym, dso), ...leaf first])] from `perf script`."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "pid,comm,ip,sym,dso"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=600).stdout
    samples = []
    for block in out.split("\n\n"):
        lines = [l for l in block.strip().split("\n") if l.strip()]
        if not lines or not lines[0].split()[-1].isdigit():
            continue
        head = lines[0].split()
        frames = []
        for l in lines[1:]:
            sym, _, dso = l.strip().partition(" ")[2].rpartition(" (")
            frames.append((sym.split("+0x")[0], dso.rstrip(")").rsplit("/", 1)[-1]))
        samples.append((int(head[-1]), " ".join(head[:-1]), frames))
    return samples


# Frames whose inclusive share is reported: the costs named in the issue
# and the usual suspects.
INCLUSIVE = [
    ("epoll_ctl (uv_poll restarts, curl socket ADD/DEL)", ("epoll_ctl",)),
    ("send/sendto/writev to sockets (incl. loopback delivery)", ("__send", "__libc_sendto",
                                                                  "writev", "__libc_sendmsg")),
    ("recv/read from sockets", ("__libc_recv", "__libc_recvfrom", "__libc_read", "recv")),
    ("write() (access log, Redis)", ("__GI___libc_write", "__libc_write")),
    ("poll() (curl connection check)", ("__poll",)),
    ("epoll_wait", ("epoll_wait",)),
    ("malloc/free family", ("malloc", "_int_malloc", "cfree@GLIBC_2.2.5", "_int_free",
                            "__libc_calloc", "realloc", "malloc_consolidate", "__libc_free")),
    ("printf family (formatting)", ("__vfprintf_internal", "__vsnprintf_internal",
                                    "__vsnprintf_chk")),
]


def perf_analyse(samples, groups, workers, secs, requests, ncpu):
    """Shares of all CPU samples by process group, CPU microseconds per
    request, and inside the workers: self time by library and symbol, and
    inclusive time of INCLUSIVE frames."""
    total = len(samples) or 1
    pid_group = {pid: g for g, pids in groups.items() for pid in pids}
    by_group = {}
    for pid, c, f in samples:
        g = pid_group.get(pid) or ("idle" if pid == 0 else "wrk (load generator)" if c == "wrk"
                                   else "perf" if c == "perf"
                                   else "other (not this benchmark)")
        by_group[g] = by_group.get(g, 0) + 1
    us_per_req = 1e6 * secs * ncpu / max(requests, 1)
    shares = [(g, n / total, n / total * us_per_req) for g, n in
              sorted(by_group.items(), key=lambda x: -x[1])]
    ws = [f for pid, c, f in samples if pid in workers]
    nw = len(ws) or 1
    dso, sym, incl = {}, {}, {}
    for f in ws:
        leaf = f[0] if f else ("?", "?")
        dso[leaf[1]] = dso.get(leaf[1], 0) + 1
        k = f"{leaf[0]} ({leaf[1]})"
        sym[k] = sym.get(k, 0) + 1
        names = {s for s, d in f}
        for label, fr in INCLUSIVE:
            if names.intersection(fr):
                incl[label] = incl.get(label, 0) + 1
    top = lambda d, n: [(k, v / nw) for k, v in sorted(d.items(), key=lambda x: -x[1])[:n]]  # noqa
    return {"shares": shares, "worker_dso": top(dso, 12), "worker_sym": top(sym, 25),
            "worker_incl": [(k, incl.get(k, 0) / nw) for k, _ in INCLUSIVE],
            "worker_samples": len(ws), "us_per_req_total": us_per_req}


def perf_profile(gw, script, groups, secs=6):
    """perf record -a -g while wrk drives the gateway at 64 connections, then
    perf trace -s over the workers for system calls per request (tracing
    slows the run; the counts per request are what is kept)."""
    data = os.path.join(TMP, "perf.data")
    url = f"http://127.0.0.1:{gw.port}/v1/chat/completions"
    cmd = ["perf", "record", "-e", "cpu-clock", "-a", "-g", "-F", "999", "-o", data, "--",
           "sleep", str(secs)]
    COMMANDS.append(" ".join(cmd[:-4] + ["perf.data", "--", "sleep", str(secs)]) +
                    "   # while wrk runs against the gateway")
    rec = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    w = wrk(url, script, 64, secs - 1)
    rec.wait(120)
    workers = set(gw.workers())
    prof = perf_analyse(perf_samples(data), groups, workers, secs - 1, w["requests"],
                        os.cpu_count() or 1)
    prof["wrk"] = w
    out = os.path.join(TMP, "trace.txt")
    tcmd = ["perf", "trace", "-s", "-p", ",".join(str(p) for p in workers), "-o", out]
    COMMANDS.append("perf trace -s -p <worker pids>   # while wrk runs against the gateway")
    tr = subprocess.Popen(tcmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    w2 = wrk(url, script, 64, 2 if SMOKE else 4)
    time.sleep(0.3)
    tr.send_signal(signal.SIGINT)
    try:
        tr.wait(60)
    except subprocess.TimeoutExpired:
        tr.kill()
    calls = {}
    if os.path.exists(out):
        for line in open(out):
            m = re.match(r"\s+(\w+)\s+(\d+)\s+(\d+)\s+[\d.]+", line)
            if m:
                c = calls.setdefault(m.group(1), [0, 0])
                c[0] += int(m.group(2))
                c[1] += int(m.group(3))
    n = max(w2["requests"], 1)
    prof["syscalls"] = sorted(((k, v[0] / n, v[1] / n) for k, v in calls.items()),
                              key=lambda x: -x[1])
    prof["trace_rps"] = w2["rps"]
    return prof


# ---- the run -------------------------------------------------------------------------

def ratio(a, b):
    return a / b if b else float("nan")


def main():
    global TMP, SSELOAD
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("watchdog")))
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.alarm(WATCHDOG_S + SERVE)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    TMP = tempfile.mkdtemp(prefix="tf-bench-")
    t_begin = time.time()
    res = {"smoke": SMOKE, "load_before": os.getloadavg()}
    try:
        return run(res, t_begin)
    finally:
        stop_all()
        shutil.rmtree(TMP, ignore_errors=True)


def run(res, t_begin):
    global SSELOAD
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"no gateway binary at {BINARY}: build it first (make bench does)")
    for tool in ("nginx", "wrk", "redis-server", "redis-cli", "cc"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: run tools/install-deps bench")
    SSELOAD = os.path.join(TMP, "sseload")
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Wformat=2",
                    "-Wvla", "-Werror", "-o", SSELOAD, os.path.join(HERE, "sseload.c")],
                   check=True, timeout=60)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    n_streams = N_STREAMS
    if nofile < N_STREAMS + 1000:
        say(f"note: ulimit -n is {nofile}; holding fewer streams")
        n_streams = max(100, nofile - 1000)
    globals()["N_STREAMS"] = n_streams

    mock_port, proxy_port = free_port(), free_port()
    start_nginx("nginx-mock", 1, mock_body(mock_port), mock_port)
    start_nginx("nginx-proxy", WORKERS, proxy_body(proxy_port, mock_port), proxy_port)
    rsock = os.path.join(TMP, "redis.sock")
    os.makedirs(os.path.join(TMP, "redis"))
    rp = start("redis", ["redis-server", "--port", "0", "--unixsocket", rsock,
                         "--unixsocketperm", "700", "--dir", os.path.join(TMP, "redis"),
                         "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                         "--daemonize", "no", "--maxclients", "1000"],
               log=os.path.join(TMP, "redis.log"))
    wait_for(lambda: os.path.exists(rsock), 10, "redis")
    gw = Gateway(rsock)
    res["startup_cold_ms"] = gw.start(WORKERS) * 1000
    time.sleep(0.5)
    res["idle_fresh"] = mem_kib(gw.pids())
    gw.setup(mock_port)
    key = gw.key
    say(f"gateway on :{gw.port} ({WORKERS} workers), proxy :{proxy_port}, mock :{mock_port}")

    # The three targets, same path shape on each.
    tj, ts = wrk_script(MODEL_JSON, False, key), wrk_script(MODEL_SSE, True, key)
    bj, bs, bslow = (body_file(MODEL_JSON, False), body_file(MODEL_SSE, True),
                     body_file(MODEL_SLOW, True))
    path = "/v1/chat/completions"
    targets = {"direct": (mock_port, "/json" + path, "/sse" + path),
               "proxy": (proxy_port, "/json" + path, "/sse" + path),
               "gateway": (gw.port, path, path)}
    for name, (port, pj, ps) in targets.items():   # each answers as it should
        st, head, b = http(port, "POST", pj, body=open(bj, "rb").read(),
                           headers={"Authorization": "Bearer " + key})
        assert st == 200 and json.loads(b)["choices"], (name, st, b[:300])
        st, head, b = http(port, "POST", ps, body=open(bs, "rb").read(),
                           headers={"Authorization": "Bearer " + key})
        # the gateway drops the usage chunk the client did not ask for
        assert st == 200 and b.count(b"data: ") >= 23 and b"[DONE]" in b, (name, st, b[-300:])
        wrk(f"http://127.0.0.1:{port}{pj}", tj, 64, 1)  # warm-up
    if CONVERTED_ONLY:
        say("(h) converted stream: Anthropic client -> OpenAI upstream")
        res["h"] = converted.measure(gw, key, TMP, MODEL_SSE, ts, http, wrk, say, ROUNDS,
                                     max(1, D_TPUT // 2 + 1))
        table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in converted.rows(res["h"]))
        print(table, flush=True)
        LOG.append(table)
        if OUT:
            write_converted(OUT, res["h"])
            say(f"updated the (h) section of {OUT}")
        return 0
    if SERVE:
        say(f"serving for {SERVE} s: gateway pid {gw.proc.pid} workers {gw.workers()}")
        for name, (port, pj, ps) in targets.items():
            say(f"  {name}: wrk -t2 -c64 -d5s -s {tj} http://127.0.0.1:{port}{pj}")
            say(f"  {name} (stream): wrk -t2 -c64 -d5s -s {ts} http://127.0.0.1:{port}{ps}")
        say(f"  redis: redis-cli -s {rsock}; gateway log {gw.log}; sqlite {gw.data}")
        time.sleep(SERVE)
        return 0
    time.sleep(1)
    res["idle_warm"] = mem_kib(gw.pids())
    res["redis_idle_rss"] = mem_kib([rp.pid])[0]

    # (e) idle Redis traffic (reaper, persister, config poll), then under load.
    c0 = commandstats(rsock)
    time.sleep(D_REDIS)
    idle = stats_delta(c0, commandstats(rsock))

    # (a) throughput, 64 connections, interleaved rounds; Redis counted on the gateway runs.
    say("(a) non-stream throughput, 64 connections")
    runs = {k: [] for k in targets}
    redis_load, redis_reqs, redis_secs = {}, 0, 0.0
    for rnd in range(ROUNDS):
        for name, (port, pj, ps) in targets.items():
            if name == "gateway":
                c0, t0 = commandstats(rsock), time.time()
            r = wrk(f"http://127.0.0.1:{port}{pj}", tj, 64, D_TPUT)
            if name == "gateway":
                # settle replies land within ms of the response; let them finish
                time.sleep(0.3)
                d = stats_delta(c0, commandstats(rsock))
                redis_secs += time.time() - t0
                redis_reqs += r["requests"]
                for k, v in d.items():
                    redis_load[k] = redis_load.get(k, 0) + v
            runs[name].append(r)
            say(f"  {name:8s} round {rnd + 1}: {r['rps']:10.0f} req/s  p99 {r['p99']:.2f} ms")
    tput = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
    res["a"] = {"rps": tput, "gw_vs_proxy": ratio(tput["gateway"], tput["proxy"]),
                "gw_vs_direct": ratio(tput["gateway"], tput["direct"]),
                "non2xx": sum(r["non2xx"] for v in runs.values() for r in v)}
    res["after_load"] = mem_kib(gw.pids())

    # Stream throughput (same shape, SSE body) — not a numbered figure, shown for context.
    say("(a') stream throughput, 64 connections")
    st_rps = {}
    for name, (port, pj, ps) in targets.items():
        r = wrk(f"http://127.0.0.1:{port}{ps}", ts, 64, max(1, D_TPUT // 2 + 1))
        st_rps[name] = r["rps"]
        say(f"  {name:8s}: {r['rps']:10.0f} req/s")
    res["a_stream"] = st_rps

    # (h) a converted call against the same-format path (tests/bench/converted.py).
    say("(h) converted stream: Anthropic client -> OpenAI upstream")
    res["h"] = converted.measure(gw, key, TMP, MODEL_SSE, ts, http, wrk, say, ROUNDS,
                                 max(1, D_TPUT // 2 + 1))

    # (e) Redis commands per relayed request.
    per_req = {}
    for k in set(redis_load) | set(idle):
        bg = idle.get(k, 0) * redis_secs / D_REDIS
        per_req[k] = (redis_load.get(k, 0) - bg) / max(redis_reqs, 1)
    say("(e) Redis commands on the request path (MONITOR, serial requests)")
    mon_cmds, mon_trips = monitor_request_path(rsock, gw.port, open(bj, "rb").read(), key,
                                               20 if SMOKE else 200)
    say(f"  {sum(mon_cmds.values()):.2f} commands in {mon_trips:.2f} round trips per request")
    res["e"] = {"per_request": {k: v for k, v in per_req.items() if abs(v) >= 0.005},
                "path_commands": mon_cmds, "path_trips": mon_trips,
                "idle_per_s": {k: v / D_REDIS for k, v in idle.items()},
                "requests": redis_reqs}

    # (b) added latency at one connection.
    say("(b) latency, 1 connection")
    lat = {}
    for name, (port, pj, ps) in targets.items():
        r = wrk(f"http://127.0.0.1:{port}{pj}", tj, 1, D_LAT, threads=1)
        lat[name] = r
        say(f"  {name:8s}: p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms  ({r['rps']:.0f} req/s)")
    res["b"] = {k: {"p50": v["p50"], "p99": v["p99"]} for k, v in lat.items()}

    # (c) time to first SSE event.
    say("(c) time to first SSE event, 1 connection")
    tf = {}
    for name, (port, pj, ps) in targets.items():
        tf[name] = ttfe(port, ps, bs, key)
        say(f"  {name:8s}: p50 {tf[name]['first_p50_us'] / 1000:.3f} ms  "
            f"p99 {tf[name]['first_p99_us'] / 1000:.3f} ms  errors {tf[name]['errors']}")
    res["c"] = tf

    # (d) concurrent open streams, gateway then the nginx proxy for reference.
    say(f"(d) {N_STREAMS} concurrent SSE streams")
    res["d"] = hold_streams(gw.port, path, bslow, key, gw.pids)
    say(f"  gateway: {res['d']['streams']} open (failed {res['d']['failed']}), "
        f"{res['d']['rss_per_stream_kib']:.1f} KiB RSS/stream, "
        f"{res['d']['pss_per_stream_kib']:.1f} KiB PSS/stream, ramp {res['d']['ramp_s']:.1f} s")
    proxy_p = [p for n, p in PROCS if n == "nginx-proxy"][0]
    mock_p = [p for n, p in PROCS if n == "nginx-mock"][0]
    res["d_proxy"] = hold_streams(proxy_port, "/slow" + path, bslow, None,
                                  lambda: [proxy_p.pid] + children(proxy_p.pid))
    say(f"  proxy:   {res['d_proxy']['streams']} open, "
        f"{res['d_proxy']['rss_per_stream_kib']:.1f} KiB RSS/stream")
    # Aborted streams settle (each is refunded/charged); wait until the gateway answers again.
    wait_for(lambda: http(gw.port, "GET", "/api/status")[0] == 200, 30, "gateway after hold")
    time.sleep(1)
    res["after_hold"] = mem_kib(gw.pids())
    time.sleep(1 if SMOKE else 5)
    res["after_hold_later"] = mem_kib(gw.pids())

    # perf profile on the 2-worker gateway.
    if perf_ok():
        say("perf: profiling the gateway at 64 connections")
        sup = gw.proc.pid
        kids = children(sup)
        groups = {"gateway workers": gw.workers(),
                  "gateway ledger process (persister, reaper)":
                      [p for p in kids if comm(p) == "tf-ledger"] +
                      [int(t) for p in kids if comm(p) == "tf-ledger"
                       for t in os.listdir(f"/proc/{p}/task")],
                  "gateway supervisor": [sup], "redis-server": [rp.pid] + [
                      int(t) for t in os.listdir(f"/proc/{rp.pid}/task")],
                  "nginx mock upstream": [mock_p.pid] + children(mock_p.pid),
                  "nginx proxy (idle here)": [proxy_p.pid] + children(proxy_p.pid)}
        res["perf"] = p = perf_profile(gw, tj, groups)
        for g, share, us in p["shares"][:8]:
            say(f"  {share * 100:5.1f}%  {us:6.1f} us/request  {g}")

    # (g) 1 worker against 2, and (f) warm start-up (restart on the same data).
    say("(g) 1 worker against 2; (f) restart time")
    gw.stop()
    res["startup_warm_ms"] = {}
    res["g"] = {}
    for nw in (1, WORKERS):
        res["startup_warm_ms"][nw] = gw.start(nw) * 1000
        t0 = time.perf_counter()
        wait_for(lambda: http(gw.port, "POST", path, body=open(bj, "rb").read(),
                              headers={"Authorization": "Bearer " + key})[0] == 200,
                 30, "first relayed request", interval=0.001)
        res.setdefault("first_relay_ms", {})[nw] = (time.perf_counter() - t0) * 1000 + \
            res["startup_warm_ms"][nw]
        time.sleep(1)
        res.setdefault("idle_restart", {})[nw] = mem_kib(gw.pids())
        wrk(f"http://127.0.0.1:{gw.port}{path}", tj, 64, 1)
        r = wrk(f"http://127.0.0.1:{gw.port}{path}", tj, 64, D_TPUT)
        res["g"][nw] = r["rps"]
        say(f"  {nw} worker(s): {r['rps']:.0f} req/s; start-up {res['startup_warm_ms'][nw]:.0f} ms")
        gw.stop()
    res["wall_s"] = time.time() - t_begin
    res["load_after"] = os.getloadavg()
    table = render_table(res)
    print(table, flush=True)
    LOG.append(table)
    if OUT:
        write_results(OUT, res, table)
        say(f"wrote {OUT}")
    return 0


# ---- output ----------------------------------------------------------------------------

def fmt_mem(kib):
    return f"{kib / 1024:.1f} MiB"


def verdict(ok):
    return "met" if ok else "**not met**"


def render_table(res):
    a, b, c, d, e, g = res["a"], res["b"], res["c"], res["d"], res["e"], res["g"]
    rows = []
    add = rows.append
    add(("(a) non-stream req/s @64: direct / nginx proxy / gateway",
         f"{a['rps']['direct']:.0f} / {a['rps']['proxy']:.0f} / {a['rps']['gateway']:.0f}", ""))
    add(("(a) gateway / nginx proxy", f"{a['gw_vs_proxy']:.2f}",
         f">= 0.5: {verdict(a['gw_vs_proxy'] >= 0.5)}"))
    add(("(a) gateway / direct", f"{a['gw_vs_direct']:.2f}", ""))
    s = res["a_stream"]
    add(("    stream req/s @64: direct / proxy / gateway",
         f"{s['direct']:.0f} / {s['proxy']:.0f} / {s['gateway']:.0f}",
         f"gw/proxy {ratio(s['gateway'], s['proxy']):.2f}"))
    rows += converted.rows(res["h"])
    for p in ("p50", "p99"):
        add((f"(b) latency @1 {p}: direct / proxy / gateway (ms)",
             f"{b['direct'][p]:.3f} / {b['proxy'][p]:.3f} / {b['gateway'][p]:.3f}", ""))
    add50 = b["gateway"]["p50"] - b["direct"]["p50"]
    add99 = b["gateway"]["p99"] - b["direct"]["p99"]
    add(("(b) added p50 / p99 (gateway - direct)", f"{add50:.3f} / {add99:.3f} ms",
         f"<= 0.15 / 0.5: {verdict(add50 <= 0.15)} / {verdict(add99 <= 0.5)}"))
    f50 = lambda k: c[k]["first_p50_us"] / 1000  # noqa: E731
    add(("(c) first SSE event p50: direct / proxy / gateway (ms)",
         f"{f50('direct'):.3f} / {f50('proxy'):.3f} / {f50('gateway'):.3f}", ""))
    addf = f50("gateway") - f50("direct")
    addf99 = (c["gateway"]["first_p99_us"] - c["direct"]["first_p99_us"]) / 1000
    add(("(c) added time to first event p50 (p99)", f"{addf:.3f} ms ({addf99:.3f} ms)",
         f"<= 0.3: {verdict(addf <= 0.3)}"))
    add(("(d) concurrent streams held by the gateway",
         f"{d['streams']} of {N_STREAMS} (failed {d['failed']}, ramp {d['ramp_s']:.1f} s)",
         f"{verdict(d['streams'] >= N_STREAMS)}"))
    add(("(d) memory per stream: RSS / PSS", f"{d['rss_per_stream_kib']:.1f} / "
         f"{d['pss_per_stream_kib']:.1f} KiB", f"<= 20 KiB: {verdict(d['pss_per_stream_kib'] <= 20)}"))
    dp = res["d_proxy"]
    add(("    nginx proxy, same streams: RSS per stream",
         f"{dp['rss_per_stream_kib']:.1f} KiB ({dp['streams']} open)", ""))
    per = e["per_request"]
    total = sum(per.values())
    path_n = sum(e["path_commands"].values())
    add(("(e) Redis round trips per relayed request (MONITOR)",
         f"{e['path_trips']:.2f} ({path_n:.2f} commands: " +
         ", ".join(f"{k.strip()} {v:.2f}" for k, v in sorted(e["path_commands"].items(),
                                                            key=lambda x: -x[1])) + ")",
         f"<= 2: {verdict(e['path_trips'] <= 2.05)}"))
    add(("(e) Redis commands executed per request (commandstats)",
         f"{total:.1f} (incl. inside the Lua scripts and the persister)", ""))
    idle_pss = res["idle_fresh"][1]
    add(("(f) idle memory after start: RSS sum / PSS sum",
         f"{fmt_mem(res['idle_fresh'][0])} / {fmt_mem(idle_pss)}",
         f"<= 15 MB: {verdict(idle_pss <= 15 * 1000 * 1000 / 1024)}"))
    add(("(f) idle after warm-up / after load / after 10k streams (PSS)",
         f"{fmt_mem(res['idle_warm'][1])} / {fmt_mem(res['after_load'][1])} / "
         f"{fmt_mem(res['after_hold'][1])}", ""))
    sw = res["startup_warm_ms"]
    add(("(f) start-up to first answer: cold / restart (ms)",
         f"{res['startup_cold_ms']:.0f} / {sw[WORKERS]:.0f}",
         f"<= 100 ms: {verdict(max(res['startup_cold_ms'], sw[WORKERS]) <= 100)}"))
    add(("(f) restart to first relayed request (ms)", f"{res['first_relay_ms'][WORKERS]:.0f}", ""))
    add(("(g) gateway req/s @64: 1 worker / %d workers" % WORKERS,
         f"{g[1]:.0f} / {g[WORKERS]:.0f}", f"x{ratio(g[WORKERS], g[1]):.2f}"))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    lines = [f"| {'figure'.ljust(w1)} | {'measured'.ljust(w2)} | target |",
             f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|--------|"]
    lines += [f"| {r[0].ljust(w1)} | {r[1].ljust(w2)} | {r[2]} |" for r in rows]
    return "\n".join(lines)


def machine():
    def cmd(*a):
        try:
            return subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    model = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    mem = re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read())
    return [
        f"- CPU: {model.group(1) if model else '?'}, {os.cpu_count()} online CPUs",
        f"- memory: {int(mem.group(1)) // 1024} MiB; kernel {platform.release()}; "
        f"Debian {open('/etc/debian_version').read().strip()}",
        f"- {cmd('nginx', '-v')}; {cmd('wrk', '-v').splitlines()[0]}; "
        f"{cmd('redis-server', '--version').split(' sha')[0]}",
        f"- gateway: {BINARY} ({cmd('file', '-b', BINARY).split(',')[0]}), "
        f"git {cmd('git', '-C', ROOT, 'rev-parse', '--short', 'HEAD')}",
        f"- ulimit -n in the harness: {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}",
    ]


def write_results(path, res, table):
    keep = ""
    if os.path.exists(path):
        old = open(path).read()
        if ANALYSIS_MARK in old:
            keep = old.split(ANALYSIS_MARK, 1)[1]
    e = res["e"]
    out = ["# Benchmark results (generated by `make bench`, tests/bench/run.py)", "",
           f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
           f"{res['wall_s']:.0f} s wall.", "", "## Machine", ""] + machine() + [
        "", "Everything runs on this machine over loopback: wrk, the mock upstream, "
        "nginx, Redis and the gateway share the CPUs, so every figure is a ratio or "
        "difference taken in the same run. Load average before the run "
        f"{res['load_before'][0]:.2f}, after it {res['load_after'][0]:.2f} (other work on "
        "the machine shows there and as \"other\" in the perf table).", "", "## Figures", "", table, "",
        "Redis commands sent by a worker per relayed request (MONITOR over serial requests; "
        "Lua's own calls, the persister, the reaper and the config poll left out):", "",
        "| command | per request |", "|---|---|"] + [
        f"| {k} | {v:.2f} |" for k, v in sorted(e["path_commands"].items(),
                                                 key=lambda x: -x[1])] + [
        "", f"Round trips: {e['path_trips']:.2f} per request (commands less than 30 us apart "
        "counted as one pipelined trip).", "",
        "Redis commands executed per relayed request (INFO commandstats over the gateway runs "
        "of (a), idle traffic subtracted; commands run inside Lua scripts and by the "
        "persister are counted):", "",
        "| command | per request |", "|---|---|"] + [
        f"| {k} | {v:.3f} |" for k, v in sorted(e["per_request"].items(), key=lambda x: -x[1])] + [
        "", "Idle Redis traffic (per second): " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(e["idle_per_s"].items())), "",
        "Memory (KiB, sum over supervisor + ledger process + workers; Redis is separate: "
        f"{res['redis_idle_rss']} KiB RSS idle):", "",
        "| moment | RSS sum | PSS sum |", "|---|---|---|"]
    for label, k in (("fresh start, empty database", "idle_fresh"),
                     ("after set-up and warm-up", "idle_warm"),
                     ("after the throughput runs", "after_load"),
                     ("10k streams held", None), ("1 s after the streams closed", "after_hold"),
                     ("6 s after the streams closed", "after_hold_later")):
        if k:
            out.append(f"| {label} | {res[k][0]} | {res[k][1]} |")
        else:
            d = res["d"]
            out.append(f"| {label} (before: {d['rss_before_kib']} / {d['pss_before_kib']}) "
                       f"| {d['rss_held_kib']} | {d['pss_held_kib']} |")
    for nw, m in sorted(res["idle_restart"].items()):
        out.append(f"| restart with {nw} worker(s), idle | {m[0]} | {m[1]} |")
    d = res["d"]
    out += ["", f"Streams: ramp {d['ramp_s']:.1f} s with at most 1000 waiting for their first "
            f"event; first event under that ramp p50 {d['first_p50_ms']:.1f} ms, p99 "
            f"{d['first_p99_ms']:.1f} ms; {d.get('ended_early', 0)} ended early.", ""]
    if "perf" in res:
        p = res["perf"]
        pc = lambda rows: [f"| {k} | {v * 100:.1f}% |" for k, v in rows]  # noqa: E731
        out += ["## perf profile", "",
                f"Gateway with {WORKERS} workers, wrk at 64 connections "
                f"({p['wrk']['rps']:.0f} req/s during the profile; "
                f"{p['us_per_req_total']:.0f} us of CPU time per request across the "
                f"{os.cpu_count()} CPUs). `perf record -e cpu-clock -a -g -F 999`, samples "
                "attributed by PID:", "",
                "| process | share of all CPU | CPU us per request |", "|---|---|---|"] + [
            f"| {g} | {sh * 100:.1f}% | {us:.1f} |" for g, sh, us in p["shares"]] + [
            "", f"Inside the workers ({p['worker_samples']} samples), inclusive time of "
            "selected frames (kernel part included; user-space call chains stop at "
            "libraries built without frame pointers):", "",
            "| frames | share of worker CPU |", "|---|---|"] + pc(p["worker_incl"]) + [
            "", "Inside the workers, self time by library:", "",
            "| library | share of worker CPU |", "|---|---|"] + pc(p["worker_dso"]) + [
            "", "Inside the workers, top self symbols:", "",
            "| symbol | share of worker CPU |", "|---|---|"] + pc(p["worker_sym"]) + [
            "", "System calls per relayed request in the workers (`perf trace -s`; the "
            f"tracing slowed the run to {p['trace_rps']:.0f} req/s, the counts per request "
            "do not depend on it):", "", "| syscall | calls per request | failed per request |",
            "|---|---|---|"] + [f"| {k} | {c:.2f} | {e_:.2f} |" for k, c, e_ in p["syscalls"]
                                if c >= 0.05]
        out.append("")
    out += converted.section(res["h"], "make bench")
    out += ["## Commands", "", "```", "make bench        # = tools/install-deps bench; "
            "Release build; python3 tests/bench/run.py build/release"] + \
        sorted(set(COMMANDS)) + ["```", "", ANALYSIS_MARK]
    with open(path, "w") as f:
        f.write("\n".join(out) + (keep if keep else "\n"))


def write_converted(path, h):
    """Replaces (or adds, before "## Commands") the (h) section of an existing RESULTS.md."""
    git = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %s"], stdout=subprocess.PIPE,
                         text=True).stdout.strip()
    sec = converted.section(h, "python3 tests/bench/run.py build/release --converted",
                            f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (only this "
                            f"figure; load average before {os.getloadavg()[0]:.2f}); gateway {BINARY}, "
                            f"git {git[:100]}.")
    old = open(path).read() if os.path.exists(path) else "## Commands\n"
    lines = old.split("\n")
    head = "## Converted call (issue 11)"
    if head in lines:
        i = lines.index(head)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        lines[i:j] = sec
    else:
        i = lines.index("## Commands") if "## Commands" in lines else len(lines)
        lines[i:i] = sec
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
