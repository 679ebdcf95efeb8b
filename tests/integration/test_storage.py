#!/usr/bin/env python3
"""Storage integration: runs the test_store_sql cmocka binary against real servers.

Starts MariaDB and PostgreSQL (tests/integration/dbservers.py) in parallel, then runs
test_store_sql once per dialect with GW_TEST_DSN set (and once without, for SQLite).
Prints one "PASS storage-<dialect>" / "FAIL storage-<dialect>: why" line per case and
exits non-zero if any case failed.

usage: test_storage.py [BUILD_DIR]   (default: $GW_BUILD_DIR, else build/asan)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dialects import run_on_dialects  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("GW_BUILD_DIR",
                                                         os.path.join(ROOT, "build/asan"))
    binary = os.path.join(build, "test_store_sql")
    if not os.access(binary, os.X_OK):
        print("FAIL storage: %s not built" % binary)
        return 1
    return run_on_dialects(binary, "storage")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
