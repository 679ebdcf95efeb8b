#!/usr/bin/env python3
"""/api/setup as in the reference: status before and after, validation,
root user creation (role 100, quota 100000000, bcrypt), setups row, and a
race of concurrent setups creating exactly one root. Runs on SQLite, and on
MariaDB and PostgreSQL."""
import json
import os
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from harness import Gateway, case, get_json, main, request  # noqa: E402


def post(g, body):
    st, _, b = request("POST", g.port, "/api/setup", body=body)
    assert st == 200, st
    return json.loads(b)


GOOD = {"username": "root", "password": "12345678", "confirmPassword": "12345678",
        "SelfUseModeEnabled": True, "DemoSiteEnabled": False}


def exercise(g, kind):
    st, _, j = get_json(g.port, "/api/setup")
    assert j["success"] and j["data"] == {"status": False, "root_init": False,
                                          "database_type": kind}, j
    for bad, why in ((dict(GOOD, username=""), "username"),
                     (dict(GOOD, username="a" * 13), "12"),
                     (dict(GOOD, password="short", confirmPassword="short"), "8"),
                     (dict(GOOD, confirmPassword="different1"), "match"),
                     ({"username": 5}, "username")):
        j = post(g, bad)
        assert j["success"] is False and why in j["message"], (bad, j)
    for raw in (b"{not json", b"[1,2]", b""):
        st, _, b = request("POST", g.port, "/api/setup", body=raw)
        j = json.loads(b)
        assert st == 200 and j["success"] is False, j
    assert get_json(g.port, "/api/setup")[2]["data"]["status"] is False

    results = []
    threads = [threading.Thread(target=lambda u=u: results.append(
        post(g, dict(GOOD, username=u)))) for u in ("root", "root2", "root3", "root4")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(1 for r in results if r["success"]) == 1, results
    assert get_json(g.port, "/api/setup")[2]["data"]["status"] is True
    assert get_json(g.port, "/api/status")[2]["data"]["setup"] is True
    j = post(g, GOOD)
    assert j["success"] is False and "already" in j["message"]


@case
def setup_on_sqlite():
    with Gateway(workers=2) as g:
        exercise(g, "sqlite")
        g.stop()


@case
def setup_stores_root_with_bcrypt_and_options():
    g = Gateway(workers=1).start()
    try:
        assert post(g, GOOD)["success"]
        path = os.path.join(g.data_dir, "token-factory.db")
        db = sqlite3.connect(path)
        rows = db.execute("SELECT username, role, status, quota, display_name, password, "
                          "`group` FROM users").fetchall()
        assert len(rows) == 1, rows
        u = rows[0]
        assert u[:5] == ("root", 100, 1, 100000000, "Root User"), u
        assert u[5].startswith("$2b$10$") and len(u[5]) == 60, u[5]
        assert u[6] == "default"
        opts = dict(db.execute("SELECT `key`, value FROM options").fetchall())
        assert opts["SelfUseModeEnabled"] == "true" and opts["DemoSiteEnabled"] == "false"
        assert db.execute("SELECT COUNT(*) FROM setups").fetchone()[0] == 1
        uid = db.execute("SELECT id FROM users").fetchone()[0]
        db.close()
        # The new root is mirrored into Redis (scripts/README.md key schema).
        import subprocess
        out = subprocess.run(["redis-cli", "-s", os.path.join(g.data_dir, "redis.sock"), "HMGET",
                              f"tf:{{s{uid % 16}}}:u:{uid}", "quota", "reserved", "role",
                              "status", "username"], text=True, stdout=subprocess.PIPE).stdout
        assert out.split() == ["100000000", "0", "100", "1", "root"], out
    finally:
        g.stop()


@case
def setup_on_mariadb():
    with dbservers.mariadb() as db:
        with Gateway(workers=2, env={"SQL_DSN": db.dsn}) as g:
            exercise(g, "mysql")
            g.stop()


@case
def setup_on_postgres():
    with dbservers.postgres() as db:
        with Gateway(workers=2, env={"SQL_DSN": db.dsn}) as g:
            exercise(g, "postgres")
            g.stop()


if __name__ == "__main__":
    main()
