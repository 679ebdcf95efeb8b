"""Helpers for the management-API integration tests: JSON calls with a bearer
token, the first setup, users with personal access tokens, and direct SQL on
whichever backend the gateway uses (SQLite file, or the mariadb / psql
command-line clients for the servers of dbservers.py). Standard library only.

SQL is written MySQL-style with backticks; for PostgreSQL they become double
quotes. Values in these statements come from the tests themselves."""
import json
import os
import sqlite3
import subprocess

from harness import request

PSQL = "/usr/bin/psql"


def api(g, method, path, token=None, body=None, headers=None):
    """(status, headers, parsed JSON or None)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    st, hdrs, b = request(method, g.port, path, body=body, headers=h)
    try:
        return st, hdrs, (json.loads(b) if b else None)
    except ValueError:
        return st, hdrs, b


class Db:
    """Direct SQL on the gateway's database."""

    def __init__(self, kind, path=None, server=None):
        self.kind, self.path, self.server = kind, path, server

    @staticmethod
    def sqlite(g):
        return Db("sqlite", path=os.path.join(g.data_dir, "token-factory.db"))

    @staticmethod
    def of(server):
        return Db("mysql" if server.kind == "mariadb" else "postgres", server=server)

    def query(self, sql, timeout=30):
        """Rows as lists of strings (None for NULL on SQLite only)."""
        if self.kind == "sqlite":
            c = sqlite3.connect(self.path, timeout=30)
            try:
                rows = [list(r) for r in c.execute(sql).fetchall()]
                c.commit()
                return rows
            finally:
                c.close()
        if self.kind == "mysql":
            s = self.server
            cmd = ["mariadb", "--no-defaults", "-ugw", "-pgw-test-pw", "-h127.0.0.1",
                   "-P%d" % s.port, "gw", "-N", "-B", "-e", sql]
        else:
            cmd = [PSQL, self.server.dsn, "-X", "-q", "-A", "-t", "-F", "\t",
                   "-v", "ON_ERROR_STOP=1", "-c", sql.replace("`", '"')]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=timeout)
        if out.returncode != 0:
            raise AssertionError(f"{self.kind} SQL failed: {out.stderr.strip()}\n{sql}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def exec(self, sql):
        self.query(sql)


def setup_root(g):
    st, _, j = api(g, "POST", "/api/setup", body={"username": "root", "password": "rootpass1",
                                                  "confirmPassword": "rootpass1"})
    assert st == 200 and j["success"], j


def login(g, user="root", pw="rootpass1"):
    st, _, j = api(g, "POST", "/api/user/login", body={"username": user, "password": pw})
    assert st == 200 and j["success"], j
    return j["data"]["access_token"]


def add_user(db, name, role, pat):
    """A user with a personal access token (32 chars); returns its id."""
    assert len(pat) == 32
    db.exec("INSERT INTO users (username, password, display_name, role, status, access_token, "
            f"`group`, quota) VALUES ('{name}', 'x', '{name}', {role}, 1, '{pat}', 'default', 0)")
    return int(db.query(f"SELECT id FROM users WHERE username = '{name}'")[0][0])
