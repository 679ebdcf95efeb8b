#!/usr/bin/env python3
"""Routing table on every SQL dialect: runs the test_relay_routing cmocka binary against
real servers.

Starts MariaDB and PostgreSQL (tests/integration/dbservers.py) in parallel, then runs
test_relay_routing once per dialect with GW_TEST_DSN set (and once without, for SQLite):
gw_routing_load must read channels and abilities (booleans, JSON columns, NULLs) the same
way on each. Prints one "PASS routing-<dialect>" / "FAIL routing-<dialect>: why" line per
case and exits non-zero if any case failed.

usage: test_routing_dbs.py [BUILD_DIR | BINARY]   (default: $GW_BUILD_DIR, else build/asan)
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from test_storage import Starter  # noqa: E402  (boots a server in a thread)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_TIMEOUT = 300


def run_case(binary, name, dsn):
    env = dict(os.environ)
    env.pop("GW_TEST_DSN", None)
    if dsn:
        env["GW_TEST_DSN"] = dsn
    t0 = time.monotonic()
    try:
        r = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        print("FAIL routing-%s: timed out after %d s" % (name, RUN_TIMEOUT), flush=True)
        return False
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        sys.stdout.write(out)
        print("FAIL routing-%s: exit %d" % (name, r.returncode), flush=True)
        return False
    print("PASS routing-%s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    return True


def main(argv):
    arg = argv[1] if len(argv) > 1 else os.environ.get("GW_BUILD_DIR",
                                                       os.path.join(ROOT, "build/asan"))
    binary = arg if os.path.isfile(arg) else os.path.join(arg, "test_relay_routing")
    if not os.access(binary, os.X_OK):
        print("FAIL routing: %s not built" % binary)
        return 1

    def terminate(signum, frame):       # stop the servers on SIGTERM too
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, terminate)
    starters = {"mysql": Starter(dbservers.mariadb), "postgres": Starter(dbservers.postgres)}
    for s in starters.values():
        s.start()
    ok = run_case(binary, "sqlite", None)
    try:
        for name, s in starters.items():
            s.up.wait(dbservers.START_TIMEOUT * 3)
            if s.srv is None:
                print("FAIL routing-%s: server did not start: %s" % (name, s.error), flush=True)
                ok = False
                continue
            print("# %s up in %.2f s (pid %d)" % (s.srv.kind, s.srv.startup_s, s.srv.pid),
                  flush=True)
            ok = run_case(binary, name, s.srv.dsn) and ok
    finally:
        for s in starters.values():
            s.release()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
