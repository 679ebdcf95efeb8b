#!/usr/bin/env python3
"""Every libFuzzer target in tests/fuzz builds (clang, ASan + UBSan, in the
sibling build directory <build>/../fuzz) and runs for a short bounded time
from its seed corpus without a crash, a leak, a timeout or a broken
invariant. FUZZ_CI_TIME sets the seconds per target (default 20)."""
import glob
import os
import re
import subprocess
import sys

from harness import BUILD, ROOT, case, main

SECONDS = int(os.environ.get("FUZZ_CI_TIME", "20"))


@case
def every_fuzz_target_builds_and_runs_without_a_crash():
    fuzz_build = os.path.join(os.path.dirname(os.path.abspath(BUILD)), "fuzz")
    names = sorted(os.path.basename(p)[5:-2]
                   for p in glob.glob(os.path.join(ROOT, "tests/fuzz/fuzz_*.c")))
    assert len(names) >= 9, names
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests/fuzz/run.py"),
                        "--build", fuzz_build, "--time", str(SECONDS)],
                       cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=len(names) * (SECONDS + 120) + 1200)
    out = p.stdout
    assert p.returncode == 0, f"run.py exited {p.returncode}:\n{out[-8000:]}"
    for n in names:
        m = re.search(r"^%s\s+(\d+)\s+\d+\s+\d+\s+\S+\s+\S+\s+(\S+)$" % re.escape(n), out, re.M)
        assert m, f"no result for {n}:\n{out[-3000:]}"
        assert m.group(2) == "ok" and int(m.group(1)) > 0, m.group(0)
    print(out[out.find("target "):].strip())


if __name__ == "__main__":
    main()
