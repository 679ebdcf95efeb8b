#!/usr/bin/env python3
"""Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) in a separate clang
build directory and runs each for a bounded time, one after another.
Fails (exit 1) when a target does not build, is not registered, or crashes
(ASan, UBSan, a leak, a timeout, an out-of-memory or a broken invariant).

usage: tests/fuzz/run.py [--time S] [--runs N] [--only a,b] [--build DIR]
                         [--no-build] [--keep-corpus] [--results FILE]

  --time S     seconds per target (env FUZZ_TIME, default 60)
  --runs N     stop a target after N executions (env FUZZ_RUNS; 0 = no limit);
               with both, whichever comes first
  --only a,b   only these targets (names without fuzz_)
  --build DIR  build directory (default build/fuzz, configured with CC=clang)
  --keep-corpus  grow build/fuzz/work/<name>/ across runs (default: a fresh
               temporary corpus, seeded from tests/fuzz/corpus/<name>/)
  --results F  append one Markdown table row per target to F

A crash leaves its input in <build>/artifacts/; reproduce with
  <build>/fuzz-bin/fuzz_<name> <artifact>
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ_DIR = os.path.join(ROOT, "tests", "fuzz")


def sources():
    return sorted(os.path.basename(p)[5:-2] for p in glob.glob(os.path.join(FUZZ_DIR, "fuzz_*.c")))


def build(bdir):
    env = dict(os.environ, CC=os.environ.get("FUZZ_CC", "clang"))
    subprocess.run(["cmake", "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=Debug", "-DGW_FUZZ=ON"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    jobs = os.environ.get("JOBS") or str(os.cpu_count() or 2)
    subprocess.run(["cmake", "--build", bdir, "-j" + jobs, "--target", "gw_fuzz_all"],
                   check=True, env=env)


def run_one(bdir, name, seconds, runs, keep):
    exe = os.path.join(bdir, "fuzz-bin", "fuzz_" + name)
    seeds = os.path.join(FUZZ_DIR, "corpus", name)
    arts = os.path.join(bdir, "artifacts")
    os.makedirs(arts, exist_ok=True)
    if keep:
        work = os.path.join(bdir, "work", name)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="tf-fuzz-%s-" % name)
    cmd = [exe, "-max_total_time=%d" % seconds, "-timeout=30", "-rss_limit_mb=2048",
           "-print_final_stats=1", "-artifact_prefix=" + os.path.join(arts, name + "-")]
    if runs:
        cmd.append("-runs=%d" % runs)
    d = os.path.join(FUZZ_DIR, name + ".dict")
    if os.path.exists(d):
        cmd.append("-dict=" + d)
    cmd.append(work)
    if os.path.isdir(seeds):
        cmd.append(seeds)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:symbolize=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    t0 = time.time()
    # libFuzzer stops itself at max_total_time; the outer bound only catches a hang.
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=seconds + 300)
        out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode("utf-8", "replace") + "\n(hung: killed)", -9
    wall = time.time() - t0
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(execs[-1]) if execs else 0
    m = re.findall(r"#\d+\s+(?:DONE|pulse|NEW|REDUCE|INITED).*?cov: (\d+) ft: (\d+) corp: (\d+)", out)
    cov, ft, corp = (m[-1] if m else ("?", "?", "?"))
    crashed = rc != 0 or "ERROR: libFuzzer" in out or "SUMMARY: " in out
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": name, "execs": execs, "wall": wall, "cov": cov, "ft": ft, "corp": corp,
            "crashed": crashed, "rc": rc, "out": out, "cmd": " ".join(cmd)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", type=int, default=int(os.environ.get("FUZZ_TIME", "60")))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("FUZZ_RUNS", "0")))
    ap.add_argument("--only", default=os.environ.get("FUZZ_ONLY", ""))
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "fuzz"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep-corpus", action="store_true")
    ap.add_argument("--results")
    a = ap.parse_args()
    bdir = os.path.abspath(a.build)
    if not a.no_build:
        build(bdir)
    names = sources()
    if a.only:
        want = [n.strip() for n in a.only.split(",") if n.strip()]
        unknown = [n for n in want if n not in names]
        if unknown:
            print("unknown target(s): %s (have: %s)" % (", ".join(unknown), ", ".join(names)))
            return 2
        names = want
    missing = [n for n in names if not os.path.exists(os.path.join(bdir, "fuzz-bin", "fuzz_" + n))]
    if missing:
        print("not built (register them in tests/fuzz/CMakeLists.txt): " + ", ".join(missing))
        return 1
    failed = []
    print("%-16s %12s %8s %10s %6s %6s  %s" % ("target", "executions", "seconds", "exec/s",
                                              "cov", "corpus", "result"), flush=True)
    for n in names:
        r = run_one(bdir, n, a.time, a.runs, a.keep_corpus)
        rate = r["execs"] / r["wall"] if r["wall"] > 0 else 0
        res = "CRASH" if r["crashed"] else "ok"
        print("%-16s %12d %8.0f %10.0f %6s %6s  %s" % (n, r["execs"], r["wall"], rate, r["cov"],
                                                      r["corp"], res), flush=True)
        if r["crashed"]:
            failed.append(n)
            print(r["out"][-6000:], flush=True)
        if a.results:
            with open(a.results, "a") as f:
                f.write("| %s | %d | %.0f | %.0f | %s | %s | %d |\n" % (
                    n, r["execs"], r["wall"], rate, r["cov"], r["corp"], 1 if r["crashed"] else 0))
    if failed:
        print("FUZZ FAILED: " + ", ".join(failed))
        return 1
    print("fuzz: %d target(s), no crash" % len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
