"""Helpers for the management-API integration tests: JSON calls with a bearer
token, the first setup, users with personal access tokens, and direct SQL on
whichever backend the gateway uses (SQLite file, or the mariadb / psql
command-line clients for the servers of dbservers.py). Standard library only.

SQL is written MySQL-style with backticks; for PostgreSQL they become double
quotes. Values in these statements come from the tests themselves.

Suite is the frame the management-API test files share: their check functions run
on one gateway with SQLite, then all again on MariaDB and PostgreSQL."""
import json
import os
import sqlite3
import subprocess

import dbservers
import harness
from harness import case, request

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


class Suite:
    """A test file's checks (functions of an Env) as harness cases.

    make_env() starts an Env on SQLite (make_env(srv) one on a dbservers server);
    an Env has .g (the Gateway) and .stop(). The SQLite Env is started by the first
    case that needs it and shared by all of them. Cases run in the order they are
    registered, so a file registers its own cases around these calls."""

    def __init__(self, make_env, checks):
        self.make_env, self.checks, self.e = make_env, tuple(checks), None

    def env(self):
        if self.e is None:
            self.e = self.make_env()
        return self.e

    def check_cases(self):
        """One case per check, named after it without "check_"."""
        for check in self.checks:
            self._case_of(check)

    def _case_of(self, check):
        def run():
            check(self.env())
        run.__name__ = check.__name__[len("check_"):]
        return case(run)

    def stop_case(self):
        """The case sqlite_gateway_stops_cleanly: stops the shared Env."""
        def sqlite_gateway_stops_cleanly():
            e, self.e = self.env(), None
            e.stop()
        case(sqlite_gateway_stops_cleanly)

    def on_backend(self, ctx):
        """Every check, in order, on a new Env over the server ctx() starts."""
        with ctx() as srv:
            e = self.make_env(srv)
            try:
                for check in self.checks:
                    check(e)
            except BaseException:
                print(e.g.read_log()[-3000:])
                e.g.kill()
                raise
            e.stop()

    def backend_cases(self):
        """The cases suite_on_mariadb and suite_on_postgres."""
        def suite_on_mariadb():
            self.on_backend(dbservers.mariadb)

        def suite_on_postgres():
            self.on_backend(dbservers.postgres)
        case(suite_on_mariadb)
        case(suite_on_postgres)

    def main(self):
        """harness.main(); a shared Env still running is killed on the way out."""
        try:
            harness.main()
        finally:
            if self.e is not None:
                self.e.g.kill()
