"""The benchmark harness (tests/bench/run.py) in its few-seconds mode, so that
it cannot rot. Nothing about speed is asserted: only that the harness ran to
the end, stopped everything it started, and produced every figure."""
import os
import re
import subprocess
import sys

from harness import BUILD, ROOT, case, main

FIGURES = ["(a) gateway / nginx proxy", "(a) gateway / direct", "(b) added p50 / p99",
           "(c) added time to first event", "(d) concurrent streams held",
           "(d) memory per stream", "(e) Redis round trips", "(f) idle memory after start",
           "(f) start-up to first answer", "(g) gateway req/s @64"]


@case
def bench_smoke_produces_every_figure():
    out_md = os.path.join(BUILD, "bench-smoke-results.md")
    if os.path.exists(out_md):
        os.remove(out_md)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests/bench/run.py"), BUILD,
                        "--smoke", "--out", out_md], cwd=ROOT, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert p.returncode == 0, f"harness exited {p.returncode}:\n{p.stdout[-4000:]}"
    for fig in FIGURES:
        row = [l for l in p.stdout.splitlines() if l.startswith("| " + fig)]
        assert row, f"no row for {fig!r}:\n{p.stdout[-3000:]}"
        assert re.search(r"\| [^|]*\d", row[0]), f"no number in {row[0]!r}"
    # (h), the converted call, is a row even while /v1/messages is not served ("not available").
    assert [l for l in p.stdout.splitlines() if l.startswith("| (h) converted stream")], p.stdout[-3000:]
    md = open(out_md).read()
    assert "## Machine" in md and "## Commands" in md and "wrk -t2 -c64" in md, md[:2000]
    os.remove(out_md)


if __name__ == "__main__":
    main()
