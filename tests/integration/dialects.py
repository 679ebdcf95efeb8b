"""Runs a cmocka binary once per SQL dialect: SQLite (no GW_TEST_DSN), then MariaDB
and PostgreSQL (tests/integration/dbservers.py), which boot in parallel while the
SQLite run goes. Prints one "PASS <label>-<dialect> (N s)" or "FAIL <label>-<dialect>:
why" line per run. Used by test_storage.py and test_routing_dbs.py; Starter also by
test_ledger.py. Standard library only."""
import os
import signal
import subprocess
import sys
import threading
import time

import dbservers

RUN_TIMEOUT = 300


def run_case(binary, label, name, dsn, timeout=RUN_TIMEOUT):
    """binary with GW_TEST_DSN=dsn (unset when dsn is None); True when it passed.
    Its output is shown only when it failed."""
    env = dict(os.environ)
    env.pop("GW_TEST_DSN", None)
    if dsn:
        env["GW_TEST_DSN"] = dsn
    t0 = time.monotonic()
    try:
        r = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        print("FAIL %s-%s: timed out after %d s" % (label, name, timeout), flush=True)
        return False
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        sys.stdout.write(out)
        print("FAIL %s-%s: exit %d" % (label, name, r.returncode), flush=True)
        return False
    print("PASS %s-%s (%.1f s)" % (label, name, time.monotonic() - t0), flush=True)
    return True


class Starter(threading.Thread):
    """Enters a dbservers context manager in a thread so both servers boot at once.
    The context stays open until release() is called."""

    def __init__(self, factory):
        super().__init__(daemon=True)
        self.factory, self.srv, self.error = factory, None, None
        self.up, self.done = threading.Event(), threading.Event()

    def run(self):
        try:
            with self.factory() as srv:
                self.srv = srv
                self.up.set()
                self.done.wait()
        except Exception as e:      # noqa: BLE001 - reported as a FAIL line
            self.error = e
        finally:
            self.up.set()

    def release(self):
        self.done.set()
        self.join(dbservers.STOP_TIMEOUT * 2 + 10)


def run_on_dialects(binary, label):
    """Runs binary on SQLite, MariaDB and PostgreSQL; the exit status (0 when all
    passed). SIGTERM stops the servers too."""
    def terminate(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, terminate)
    starters = {"mysql": Starter(dbservers.mariadb), "postgres": Starter(dbservers.postgres)}
    for s in starters.values():
        s.start()
    ok = run_case(binary, label, "sqlite", None)
    try:
        for name, s in starters.items():
            s.up.wait(dbservers.START_TIMEOUT * 3)
            if s.srv is None:
                print("FAIL %s-%s: server did not start: %s" % (label, name, s.error),
                      flush=True)
                ok = False
                continue
            print("# %s up in %.2f s (pid %d)" % (s.srv.kind, s.srv.startup_s, s.srv.pid),
                  flush=True)
            ok = run_case(binary, label, name, s.srv.dsn) and ok
    finally:
        for s in starters.values():
            s.release()
    return 0 if ok else 1
