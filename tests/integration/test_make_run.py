#!/usr/bin/env python3
"""A fresh clone: `make run` installs what is missing, builds, serves
/api/status, and Ctrl-C (SIGINT to the foreground process group, as a
terminal sends it) leaves no process behind."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, alive, case, descendants, free_port, get_json, main,  # noqa: E402
                     wait_for)


@case
def make_run_in_a_fresh_clone_then_ctrl_c():
    tmp = tempfile.mkdtemp(prefix="tf-clone-")
    clone = os.path.join(tmp, "tf")
    try:
        subprocess.run(["git", "clone", "--quiet", ROOT, clone], check=True, timeout=120)
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("SQL_DSN", "REDIS_CONN_STRING", "SQLITE_PATH", "DATA_DIR", "MAKEFLAGS",
                            "MAKELEVEL", "MFLAGS")}
        env.update({"PORT": str(port), "WORKERS": "2"})
        log_path = os.path.join(tmp, "make-run.log")
        with open(log_path, "wb") as log:
            # A new session, like a terminal: SIGINT goes to the whole group.
            p = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        try:
            def read():
                return open(log_path, encoding="utf-8", errors="replace").read()
            wait_for(lambda: f"listening on http://localhost:{port}" in read() or
                     p.poll() is not None, 900, 0.5, what="make run to print the URL")
            assert p.poll() is None, read()
            st, _, j = wait_for(lambda: _status(port), 30, what="/api/status")
            assert st == 200 and j["success"] is True, j
            assert os.path.exists(os.path.join(clone, "data", "token-factory.db"))
            assert os.path.exists(os.path.join(clone, "data", "appendonlydir")) or \
                os.path.exists(os.path.join(clone, "data", "appendonly.aof"))
            procs = [p.pid] + descendants(p.pid)
            assert any("redis-server" in _cmd(x) for x in procs), [_cmd(x) for x in procs]
            os.killpg(p.pid, signal.SIGINT)  # Ctrl-C
            p.wait(60)
            wait_for(lambda: not any(alive(x) for x in procs), 30, what="every process to exit")
            assert "stopped" in read(), read()[-3000:]
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cmd(pid):
    try:
        return open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
    except OSError:
        return ""


def _status(port):
    try:
        st, h, j = get_json(port, "/api/status", timeout=2)
        return (st, h, j) if j.get("success") else None
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    main()
