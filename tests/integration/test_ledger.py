#!/usr/bin/env python3
"""Ledger integration: the persister and the cold start against real SQL servers.

Runs the cmocka binaries test_store_persister and test_store_warm once per dialect:
SQLite (no GW_TEST_DSN), then MariaDB and PostgreSQL started by tests/integration/
dbservers.py, with GW_TEST_DSN set. Each binary starts its own redis-server.

Fault cases inside test_store_persister (every dialect): a crash between COMMIT and XACK
(same consumer and another one), kill -9 of a process running the persister mid-batch
while entries keep arriving, poison entries, SQL rejecting batches. On MariaDB this script
also serves GW_TEST_SQL_CTL: the binary asks (over a pipe) to stop the server, keeps
adding entries for a few seconds, asks to start it again, and checks nothing was lost.
The server is stopped by PID (SIGTERM) and restarted with its own command line.

Prints one "PASS ledger-<binary>-<dialect>" / "FAIL ...: why" line per case and exits
non-zero if any case failed.

usage: test_ledger.py [BUILD_DIR]   (default: $GW_BUILD_DIR, else build/asan)
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from dialects import Starter  # noqa: E402  (boots a server in a thread)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_TIMEOUT = 300
BINARIES = ("test_store_persister", "test_store_warm")


class SqlControl(threading.Thread):
    """Serves "stop\\n" / "start\\n" requests from the test binary for one server.

    The restarted server is started from this thread with die-with-parent, so the
    thread lives until release(): the server must not outlive the test run, and must
    not die when the binary exits either."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.req_r, self.req_w = os.pipe()
        self.rep_r, self.rep_w = os.pipe()
        self.done = threading.Event()
        self.argv = None
        self.error = None

    def child_env(self):
        return "%d,%d" % (self.rep_r, self.req_w)

    def child_fds(self):
        return (self.rep_r, self.req_w)

    def after_spawn(self):
        os.close(self.rep_r)
        os.close(self.req_w)

    def _stop_server(self):
        with open("/proc/%d/cmdline" % self.srv.proc.pid, "rb") as f:
            self.argv = [a.decode() for a in f.read().split(b"\0") if a]
        dbservers._stop(self.srv, signal.SIGTERM)

    def _start_server(self):
        logf = open(self.srv.log, "ab")
        self.srv.proc = subprocess.Popen(
            self.argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=dbservers._die_with_parent(signal.SIGTERM))
        logf.close()
        self.srv.pid = self.srv.proc.pid
        deadline = time.monotonic() + dbservers.START_TIMEOUT
        while time.monotonic() < deadline:
            if dbservers._tcp_greets(self.srv.port):
                return
            if self.srv.proc.poll() is not None:
                raise RuntimeError("mariadbd exited on restart\n" + self.srv.log_tail())
            time.sleep(0.05)
        raise RuntimeError("mariadbd not back after restart")

    def run(self):
        with os.fdopen(self.req_r, "rb", buffering=0) as req, \
                os.fdopen(self.rep_w, "wb", buffering=0) as rep:
            for line in req:
                what = line.strip()
                try:
                    t0 = time.monotonic()
                    (self._stop_server if what == b"stop" else self._start_server)()
                    print("# sql server %s in %.2f s (pid %s)" % (
                        what.decode(), time.monotonic() - t0, self.srv.pid), flush=True)
                    rep.write(b"ok\n")
                except Exception as e:      # noqa: BLE001 - reported to the binary
                    self.error = e
                    rep.write(b"error\n")
        self.done.wait()

    def release(self):
        self.done.set()
        self.join(5)


def run_case(binary, name, dsn, ctl=None):
    env = dict(os.environ)
    env.pop("GW_TEST_DSN", None)
    env.pop("GW_TEST_SQL_CTL", None)
    if dsn:
        env["GW_TEST_DSN"] = dsn
    fds = ()
    if ctl:
        env["GW_TEST_SQL_CTL"] = ctl.child_env()
        fds = ctl.child_fds()
    label = "ledger-%s-%s" % (os.path.basename(binary)[len("test_store_"):], name)
    t0 = time.monotonic()
    try:
        p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, pass_fds=fds)
        if ctl:
            ctl.after_spawn()
        out, _ = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        print("FAIL %s: timed out after %d s" % (label, RUN_TIMEOUT), flush=True)
        return False
    text = out.decode(errors="replace")
    if p.returncode != 0 or (ctl and ctl.error):
        sys.stdout.write(text)
        print("FAIL %s: exit %d %s" % (label, p.returncode, ctl.error if ctl else ""),
              flush=True)
        return False
    if ctl and "test_sql_server_outage" in text and "[       OK ] test_sql_server_outage" \
            not in text:
        sys.stdout.write(text)
        print("FAIL %s: the SQL outage case did not run" % label, flush=True)
        return False
    print("PASS %s (%.1f s)" % (label, time.monotonic() - t0), flush=True)
    return True


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("GW_BUILD_DIR",
                                                         os.path.join(ROOT, "build/asan"))
    bins = [os.path.join(build, b) for b in BINARIES]
    for b in bins:
        if not os.access(b, os.X_OK):
            print("FAIL ledger: %s not built" % b)
            return 1

    def terminate(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, terminate)
    starters = {"mysql": Starter(dbservers.mariadb), "postgres": Starter(dbservers.postgres)}
    for s in starters.values():
        s.start()
    ok = True
    for b in bins:
        ok = run_case(b, "sqlite", None) and ok
    ctls = []
    try:
        for name, s in starters.items():
            s.up.wait(dbservers.START_TIMEOUT * 3)
            if s.srv is None:
                print("FAIL ledger-%s: server did not start: %s" % (name, s.error), flush=True)
                ok = False
                continue
            print("# %s up in %.2f s (pid %d)" % (s.srv.kind, s.srv.startup_s, s.srv.pid),
                  flush=True)
            for b in bins:
                ctl = None
                if name == "mysql" and b.endswith("test_store_persister"):
                    ctl = SqlControl(s.srv)
                    ctl.start()
                    ctls.append(ctl)
                ok = run_case(b, name, s.srv.dsn, ctl) and ok
    finally:
        for s in starters.values():
            s.release()       # stops each server by PID (the restarted one included)
        for c in ctls:
            c.release()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
