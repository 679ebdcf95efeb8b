#!/usr/bin/env python3
"""Replicas and SQL backends at the gateway level: two gateways on one
SQLite file and one Redis; the gateway on real MariaDB and PostgreSQL
servers (migrations applied once, status healthy), two replicas migrating the
same fresh database at once; Redis restarts are survived."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from harness import Gateway, case, get_json, main, request, wait_for  # noqa: E402


def status(g):
    st, _, j = get_json(g.port, "/api/status")
    assert st == 200, st
    return j


@case
def two_replicas_share_one_sqlite_file_and_one_redis():
    a = Gateway(workers=1).start()
    b = None
    try:
        sock = os.path.join(a.data_dir, "redis.sock")
        b = Gateway(workers=1, env={"REDIS_CONN_STRING": "unix://" + sock,
                                    "SQLITE_PATH": os.path.join(a.data_dir, "token-factory.db")})
        b.start()
        for g in (a, b):
            j = status(g)
            assert j["success"] and j["data"]["redis"]["ok"] and j["data"]["sql"]["ok"], j
        # The second replica found the schema already migrated.
        assert "applied" not in b.read_log()
        b.stop()
        b = None
        assert status(a)["success"], "stopping a replica must not stop the shared Redis"
        # A third on the same DATA_DIR reuses the running embedded Redis.
        c = Gateway(workers=1, data_dir=a.data_dir).start()
        assert "using the Redis already running" in c.read_log()
        c.stop()
        assert status(a)["success"]
    finally:
        if b:
            b.kill()
        a.stop()


@case
def status_reports_redis_down_and_recovers_after_restart():
    g = Gateway(workers=1).start()
    try:
        from harness import descendants
        redis_pid = [p for p in descendants(g.proc.pid)
                     if "redis-server" in open(f"/proc/{p}/cmdline").read()][0]
        os.kill(redis_pid, signal.SIGKILL)
        # The supervisor restarts its embedded Redis (AOF keeps the data);
        # the worker's connection reconnects by itself.
        wait_for(lambda: "restarting it" in g.read_log(), 10, what="redis restart")
        wait_for(lambda: status(g)["data"]["redis"]["ok"], 20, what="redis reconnect")
        assert status(g)["success"]
    finally:
        g.stop()


def run_on(dsn, kind):
    a = Gateway(workers=2, env={"SQL_DSN": dsn})
    b = Gateway(workers=1, env={"SQL_DSN": dsn})
    a.start()
    try:
        b.start()
        for g in (a, b):
            j = status(g)
            assert j["success"] and j["data"]["sql"] == {"ok": True, "type": kind}, j
        # The second replica finds the schema migrated (concurrent migration
        # under the lock is covered by test_store_sql).
        assert "applied" in a.read_log() and "applied" not in b.read_log()
        b.stop()
    finally:
        if b.proc and b.proc.poll() is None:
            b.kill()
        a.stop()


@case
def gateway_on_mariadb():
    with dbservers.mariadb() as db:
        run_on(db.dsn, "mysql")


@case
def gateway_on_postgres():
    with dbservers.postgres() as db:
        run_on(db.dsn, "postgres")


if __name__ == "__main__":
    main()
