#!/usr/bin/env python3
"""Runs every test: the cmocka unit tests through ctest, then each
tests/integration/test_*.py. Ends with one line "N passed, N failed" and a
non-zero exit status when anything failed.

usage: tests/run.py BUILD_DIR [--only PATTERN]
"""
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_ctest(build):
    """Returns (passed, failed, names of failures)."""
    t0 = time.time()
    p = subprocess.run(["ctest", "--test-dir", build, "--output-on-failure", "-j2",
                        "--timeout", "300"], cwd=ROOT, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout
    passed = failed = 0
    names = []
    for line in out.splitlines():
        m = re.search(r"Test\s+#\d+: (\S+) \.+\s*(\*{0,3}\S.*?)\s+[\d.]+ sec", line)
        if not m:
            continue
        if m.group(2).startswith("Passed"):
            passed += 1
        else:
            failed += 1
            names.append(m.group(1))
    if failed or p.returncode != 0:
        print(out)
    if p.returncode != 0 and not failed:
        failed, names = 1, ["ctest"]
    print(f"unit: {passed} passed, {failed} failed ({time.time() - t0:.0f}s)", flush=True)
    return passed, failed, names


def run_integration(build, only):
    passed = failed = 0
    names = []
    files = sorted(glob.glob(os.path.join(ROOT, "tests/integration/test_*.py")))
    for f in files:
        if only and only not in f:
            continue
        t0 = time.time()
        print(f"== {os.path.relpath(f, ROOT)}", flush=True)
        p = subprocess.run([sys.executable, f, build], cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=1500)
        file_pass = len(re.findall(r"^PASS ", p.stdout, re.M))
        file_fail = re.findall(r"^FAIL (\S+)", p.stdout, re.M)
        print(p.stdout, end="", flush=True)
        if p.returncode != 0 and not file_fail:
            file_fail = [os.path.basename(f) + ":exit-%d" % p.returncode]
        passed += file_pass
        failed += len(file_fail)
        names += file_fail
        print(f"-- {os.path.basename(f)}: {file_pass} passed, {len(file_fail)} failed "
              f"({time.time() - t0:.0f}s)", flush=True)
    return passed, failed, names


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--only" else None
    p1 = f1 = 0
    n1 = []
    if not only:
        p1, f1, n1 = run_ctest(build)
    p2, f2, n2 = run_integration(build, only)
    for n in n1 + n2:
        print(f"failed: {n}")
    print(f"{p1 + p2} passed, {f1 + f2} failed")
    return 1 if f1 + f2 else 0


if __name__ == "__main__":
    sys.exit(main())
