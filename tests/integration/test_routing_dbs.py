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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dialects import run_on_dialects  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv):
    arg = argv[1] if len(argv) > 1 else os.environ.get("GW_BUILD_DIR",
                                                       os.path.join(ROOT, "build/asan"))
    binary = arg if os.path.isfile(arg) else os.path.join(arg, "test_relay_routing")
    if not os.access(binary, os.X_OK):
        print("FAIL routing: %s not built" % binary)
        return 1
    return run_on_dialects(binary, "routing")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
