#!/usr/bin/env python3
"""A new-api database works as it is, on SQLite, MariaDB and PostgreSQL.

For each dialect, on one database:
  1. the gateway on an empty database creates new-api's schema column for column
     (tests/fixtures/newapi/<dialect>.sql is that schema as new-api's GORM writes it);
  2. the database is then laid out anew from the fixture and filled with rows as new-api
     writes them (a root user with a bcrypt $2a$10$ hash, a token, a channel of type 1 with
     open_ai_organization set, its ability, options, setup, logs, a redemption);
  3. the gateway starts on it: every row is kept; root signs in with the password; quota,
     tokens, logs and options show through the API; a chat call through the channel
     reaches the mock upstream with the channel's OpenAI-Organization and is billed and
     logged;
  4. after the gateway stops, new-api's tables have exactly the columns (name, type,
     NOT NULL, default) and indexes they had before, plus only Token Factory's own
     columns and indexes listed in OWN_COLUMNS and OWN_INDEXES.
  5. a database made by Token Factory before migration 004 (tests/fixtures/tf_pre004)
     moves forward: its openai_organization value reaches the upstream from the new
     column, the old column stays, its integer-status sessions become new-api's.

usage: test_newapi_db.py [BUILD_DIR]; TEST_CASE=name runs one case.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dbservers  # noqa: E402
from apihelp import PSQL, Db  # noqa: E402
from dialects import Starter  # noqa: E402
from harness import Gateway, case, main, request, wait_for  # noqa: E402
from relayfix import openai_mock  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures", "newapi")
MODEL = "gpt-4o-mini"
PASSWORD = "newapi-pass1"
# bcrypt of PASSWORD with cost 10 in the $2a$ form new-api's Go bcrypt writes (made with
# libxcrypt's crypt(3); the gateway verifies it, which is the point of the test).
PW_HASH = "$2a$10$7EqJtq98hPqEX7fNZaFWoOYPVVd.kZtg1N2KAXPgV/BlA4Ktxrgqm"
TOKEN_KEY = "NaTk" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"  # 48 chars, no sk-
NOW = int(time.time())
# Token Factory's own columns in new-api's tables, added by a migration of ours (GORM
# ignores columns it does not know, and never drops them). Nothing else may be added.
# None today: who set a channel's destination lives in our own table
# channel_destinations (005_channel_destination), beside new-api's.
OWN_COLUMNS = {}
# Token Factory's own indexes on new-api's tables (GORM's AutoMigrate leaves indexes it
# does not know alone): quota_data by user and hour, which the persister's hourly
# aggregate and /api/data/self look up (006_quota_data_user_created).
OWN_INDEXES = {"quota_data": ("idx_quota_data_user_created",)}


def newapi_part(columns, table):
    """columns without Token Factory's own."""
    return [c for c in columns if c[0] not in OWN_COLUMNS.get(table, ())]


def newapi_indexes(indexes, table):
    """indexes without Token Factory's own."""
    return {k: v for k, v in indexes.items() if k not in OWN_INDEXES.get(table, ())}


def fixture_statements(kind):
    text = open(os.path.join(FIXTURES, kind + ".sql")).read()
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("--"))
    return [s.strip().rstrip(";") for s in body.split(";\n") if s.strip().rstrip(";")]


def fixture_tables(kind):
    return [re.match(r'CREATE TABLE [`"](\w+)', s).group(1)
            for s in fixture_statements(kind) if s.startswith("CREATE TABLE")]


# ---- one database, whichever dialect ------------------------------------------------

class Target:
    """The database under test: kind ("sqlite", "mysql", "postgres"), a Db for SQL, and
    how to point a gateway at it."""

    def __init__(self, kind, srv=None, path=None):
        self.kind, self.srv, self.path = kind, srv, path
        self.db = Db(kind, path=path, server=srv)

    def gateway(self, env=None, **kw):
        e = dict(env or {})
        if self.srv is not None:
            e["SQL_DSN"] = self.srv.dsn
        else:
            e["SQLITE_PATH"] = self.path
        return Gateway(env=e, **kw)

    def q(self, sql):
        return self.db.query(sql)

    def run_script(self, statements):
        if self.kind == "sqlite":
            c = sqlite3.connect(self.path)
            try:
                for s in statements:
                    c.execute(s)
                c.commit()
            finally:
                c.close()
            return
        text = ";\n".join(statements) + ";\n"
        if self.kind == "mysql":
            s = self.srv
            cmd = ["mariadb", "--no-defaults", "-ugw", "-pgw-test-pw", "-h127.0.0.1",
                   "-P%d" % s.port, "gw"]
        else:
            cmd = [PSQL, self.srv.dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        r = subprocess.run(cmd, input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr

    def tables(self):
        if self.kind == "sqlite":
            rows = self.q("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                          "name NOT LIKE 'sqlite_%'")
        elif self.kind == "mysql":
            rows = self.q("SELECT table_name FROM information_schema.tables WHERE "
                          "table_schema = DATABASE()")
        else:
            rows = self.q("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return sorted(r[0] for r in rows)

    def drop_all(self):
        q = '"' if self.kind == "postgres" else "`"
        self.run_script(["DROP TABLE IF EXISTS %s%s%s" % (q, t, q) for t in self.tables()])

    def columns(self, table):
        """[(name, type, notnull, default)] in table order, normalized across spellings
        of the same thing (case, "" vs '' in SQLite defaults)."""
        if self.kind == "sqlite":
            out = []
            for r in self.q("SELECT name, type, \"notnull\", dflt_value FROM "
                            "pragma_table_info('%s') ORDER BY cid" % table):
                d = r[3]
                if d is not None and d.startswith('"') and d.endswith('"'):
                    d = "'" + d[1:-1] + "'"
                out.append((r[0], r[1].lower(), int(r[2]), d))
            return out
        if self.kind == "mysql":
            rows = self.q("SELECT column_name, column_type, is_nullable, "
                          "COALESCE(column_default, 'NULL') FROM information_schema.columns "
                          "WHERE table_schema = DATABASE() AND table_name = '%s' "
                          "ORDER BY ordinal_position" % table)
            return [(r[0], r[1].lower(), int(r[2] == "NO"), r[3]) for r in rows]
        rows = self.q("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                      "COALESCE(pg_get_expr(d.adbin, d.adrelid), 'NULL') FROM pg_attribute a "
                      "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                      "WHERE a.attrelid = 'public.%s'::regclass AND a.attnum > 0 AND NOT "
                      "a.attisdropped ORDER BY a.attnum" % table)
        return [(r[0], r[1], int(r[2] == "t"), r[3]) for r in rows]

    def indexes(self, table):
        """{name: (unique, (columns...))}; SQLite's automatic indexes (inline UNIQUE,
        text primary keys) are keyed by their columns, their names being internal."""
        out = {}
        if self.kind == "sqlite":
            for _, name, uniq, origin, _ in self.q("SELECT * FROM pragma_index_list('%s')"
                                                   % table):
                cols = tuple(r[0] for r in self.q(
                    "SELECT name FROM pragma_index_info('%s') ORDER BY seqno" % name))
                key = ("auto:" + ",".join(cols)) if name.startswith("sqlite_autoindex") else name
                out[key] = (int(uniq), cols)
            return out
        if self.kind == "mysql":
            rows = self.q("SELECT index_name, non_unique, column_name FROM "
                          "information_schema.statistics WHERE table_schema = DATABASE() AND "
                          "table_name = '%s' ORDER BY index_name, seq_in_index" % table)
            for name, non_unique, col in rows:
                u, cols = out.get(name, (int(non_unique == "0"), ()))
                out[name] = (u, cols + (col,))
            return out
        for name, idef in self.q("SELECT indexname, indexdef FROM pg_indexes WHERE "
                                 "schemaname = current_schema() AND tablename = '%s'" % table):
            out[name] = (int(" UNIQUE " in idef), (idef.split(" USING ", 1)[1],))
        return out

    @staticmethod
    def fixture_columns(kind, table):
        """[(name, ...)] of table as the fixture declares it."""
        for st in fixture_statements(kind):
            m = re.match(r'CREATE TABLE [`"]%s[`"] \((.*)\)$' % table, st, re.S)
            if m:
                return [(c,) for c in re.findall(r'(?:^|,)[`"](\w+)[`"] ', m.group(1))]
        return []

    def schema(self, tables):
        return {t: (self.columns(t), self.indexes(t)) for t in tables}

    def rows(self, table):
        """Every row, in new-api's columns of table."""
        q = '"' if self.kind == "postgres" else "`"
        cols = ", ".join(q + c[0] + q for c in self.fixture_columns(self.kind, table))
        return sorted(self.q("SELECT %s FROM %s%s%s" % (cols, q, table, q)), key=repr)


# ---- new-api's rows ------------------------------------------------------------------

def t(kind):
    return "true" if kind == "postgres" else "1"


def f(kind):
    return "false" if kind == "postgres" else "0"


def newapi_rows(kind, base_url):
    """INSERTs with every column GORM's Create writes (it writes zero values too)."""
    q = '"' if kind == "postgres" else "`"
    T, F = t(kind), f(kind)
    info = json.dumps({"is_multi_key": False, "multi_key_size": 0,
                       "multi_key_status_list": None, "multi_key_polling_index": 0,
                       "multi_key_mode": ""}, separators=(",", ":"))
    other = json.dumps({"model_ratio": 1, "completion_ratio": 2, "group_ratio": 1},
                       separators=(",", ":"))
    s = [
        "INSERT INTO users (id, username, password, display_name, role, status, email, "
        "github_id, discord_id, oidc_id, wechat_id, telegram_id, access_token, quota, "
        "used_quota, request_count, {q}group{q}, aff_code, aff_count, aff_quota, aff_history, "
        "inviter_id, linux_do_id, setting, remark, stripe_customer, created_at, last_login_at, "
        "auth_version) VALUES (1, 'root', '{pw}', 'Root User', 100, 1, '', '', '', '', '', "
        "'', NULL, 500000000, 1234, 7, 'default', 'Xk3p', 0, 0, 0, 0, '', '', '', '', {now}, "
        "{now}, 1)",
        "INSERT INTO users (id, username, password, display_name, role, status, email, "
        "github_id, discord_id, oidc_id, wechat_id, telegram_id, access_token, quota, "
        "used_quota, request_count, {q}group{q}, aff_code, aff_count, aff_quota, aff_history, "
        "inviter_id, linux_do_id, setting, remark, stripe_customer, created_at, last_login_at, "
        "auth_version) VALUES (2, 'alice', '{pw}', 'alice', 1, 1, 'a@example.com', '', '', "
        "'', '', '', NULL, 800, 200, 3, 'default', 'Q9zz', 0, 0, 0, 1, '', '', '', '', {now}, "
        "0, 1)",
        "INSERT INTO setups (id, version, initialized_at) VALUES (1, 'v0.9.0', {now})",
        "INSERT INTO options ({q}key{q}, value) VALUES ('ModelRatio', '{{\"{m}\": 1}}')",
        "INSERT INTO options ({q}key{q}, value) VALUES ('CompletionRatio', '{{\"{m}\": 2}}')",
        "INSERT INTO options ({q}key{q}, value) VALUES ('SystemName', 'My new-api')",
        "INSERT INTO channels (id, type, {q}key{q}, open_ai_organization, test_model, status, "
        "name, weight, created_time, test_time, response_time, base_url, other, balance, "
        "balance_updated_time, models, {q}group{q}, used_quota, model_mapping, "
        "status_code_mapping, priority, auto_ban, other_info, tag, setting, param_override, "
        "header_override, remark, channel_info, settings) VALUES (1, 1, 'k-good', "
        "'org-newapi', '', 1, 'na-openai', 0, {now}, 0, 0, '{base}', '', 0, 0, '{m}', "
        "'default', 0, '', '', 0, 1, '', NULL, NULL, NULL, NULL, NULL, '{info}', '')",
        "INSERT INTO abilities ({q}group{q}, model, channel_id, enabled, priority, weight, tag) "
        "VALUES ('default', '{m}', 1, {T}, 0, 0, NULL)",
        "INSERT INTO tokens (id, user_id, {q}key{q}, status, name, created_time, accessed_time, "
        "expired_time, remain_quota, unlimited_quota, model_limits_enabled, model_limits, "
        "allow_ips, used_quota, {q}group{q}, cross_group_retry, auto_groups) VALUES (1, 1, "
        "'{key}', 1, 'na-token', {now}, {now}, -1, 1000000, {F}, {F}, '', '', 50, '', {F}, '')",
        "INSERT INTO logs (id, user_id, created_at, type, content, username, token_name, "
        "model_name, quota, prompt_tokens, completion_tokens, use_time, is_stream, "
        "is_retry_attempt, channel_id, token_id, {q}group{q}, ip, request_id, "
        "upstream_request_id, other) VALUES (1, 1, {old}, 2, '', 'root', 'na-token', '{m}', "
        "1234, 34, 600, 1, {F}, {F}, 1, 1, 'default', '', 'req-old-1', '', '{other}')",
        "INSERT INTO logs (id, user_id, created_at, type, content, username, token_name, "
        "model_name, quota, prompt_tokens, completion_tokens, use_time, is_stream, "
        "is_retry_attempt, channel_id, token_id, {q}group{q}, ip, request_id, "
        "upstream_request_id, other) VALUES (2, 2, {old}, 1, 'Recharged 800 via code', "
        "'alice', '', '', 800, 0, 0, 0, {F}, {F}, 0, 0, '', '', '', '', '')",
        "INSERT INTO redemptions (id, user_id, {q}key{q}, status, name, quota, created_time, "
        "redeemed_time, used_user_id, expired_time) VALUES (1, 1, "
        "'0123456789abcdef0123456789abcdef', 1, 'gift', 500, {now}, 0, 0, 0)",
    ]
    fmt = dict(q=q, pw=PW_HASH, now=NOW, old=NOW - 3600, m=MODEL, base=base_url, info=info,
               key=TOKEN_KEY, T=T, F=F, other=other)
    out = [x.format(**fmt) for x in s]
    if kind == "postgres":  # GORM inserts ids explicitly here; move the sequences past them
        for tbl in ("users", "setups", "channels", "tokens", "logs", "redemptions"):
            out.append("SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                       "(SELECT MAX(id) FROM %s))" % (tbl, tbl))
    return out


# ---- the checks ------------------------------------------------------------------------

def api(g, method, path, token=None, body=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    st, _, b = request(method, g.port, path, body=body, headers=h, timeout=30)
    try:
        return st, json.loads(b) if b else None
    except ValueError:
        return st, b


def fresh_schema_matches_newapi(tg):
    """The gateway's own migrations on an empty database give new-api's schema."""
    tg.drop_all()
    g = tg.gateway(workers=1).start()
    g.stop()
    tables = fixture_tables(tg.kind)
    ours = tg.schema(tables)
    tg.drop_all()
    tg.run_script(fixture_statements(tg.kind))
    theirs = tg.schema(tables)
    for tbl in tables:
        assert newapi_part(ours[tbl][0], tbl) == theirs[tbl][0], (
            tg.kind, tbl, "columns differ", set(ours[tbl][0]) ^ set(theirs[tbl][0]))
        assert newapi_indexes(ours[tbl][1], tbl) == theirs[tbl][1], (
            tg.kind, tbl, "indexes differ", ours[tbl][1], theirs[tbl][1])
        for own in OWN_INDEXES.get(tbl, ()):
            assert own in ours[tbl][1], (tg.kind, tbl, "own index missing", own)


def adopt_newapi_db(tg):
    """Steps 2-4 of the module doc, on a database laid out from the fixture."""
    port, stop_mock = openai_mock.start(keys=["k-good"])
    g = None
    try:
        tg.drop_all()
        statements = fixture_statements(tg.kind)
        tg.run_script(statements)
        tg.run_script(newapi_rows(tg.kind, "http://127.0.0.1:%d" % port))
        tables = fixture_tables(tg.kind)
        schema_before = tg.schema(tables)
        rows_before = {tbl: tg.rows(tbl) for tbl in tables}

        g = tg.gateway(workers=2).start()
        # Every row kept: migrations and the cold start change none of them.
        for tbl in tables:
            assert tg.rows(tbl) == rows_before[tbl], (tg.kind, tbl)

        st, j = api(g, "POST", "/api/user/login", body={"username": "root",
                                                       "password": PASSWORD})
        assert st == 200 and j["success"], (st, j)
        tok = j["data"]["access_token"]
        st, j = api(g, "POST", "/api/user/login", body={"username": "root",
                                                       "password": "wrong-pass1"})
        assert not j["success"], j
        st, j = api(g, "GET", "/api/user/self", token=tok)
        assert j["success"] and j["data"]["quota"] == 500000000, j
        assert j["data"]["used_quota"] == 1234 and j["data"]["role"] == 100, j
        st, j = api(g, "GET", "/api/token/?p=1&page_size=10", token=tok)
        assert j["success"], j
        items = j["data"]["items"] if isinstance(j["data"], dict) else j["data"]
        na = [x for x in items if x["name"] == "na-token"]
        assert len(na) == 1 and na[0]["remain_quota"] == 1000000, items
        st, j = api(g, "GET", "/api/log/?p=1&page_size=10", token=tok)
        assert j["success"] and j["data"]["total"] == 2, j
        assert "req-old-1" in {x.get("request_id") for x in j["data"]["items"]}, j
        st, j = api(g, "GET", "/api/option/", token=tok)
        opts = {o["key"]: o["value"] for o in j["data"]}
        assert opts.get("SystemName") == "My new-api", j
        st, j = api(g, "GET", "/api/channel/1", token=tok)
        assert j["success"] and j["data"]["openai_organization"] == "org-newapi", j

        # A relayed call through new-api's channel, billed and logged.
        key = "sk-" + TOKEN_KEY
        st, h, b = request("POST", g.port, "/v1/chat/completions", timeout=30,
                           headers={"Authorization": "Bearer " + key},
                           body={"model": MODEL, "messages": [{"role": "user",
                                                               "content": "Say hi"}]})
        assert st == 200, (st, b)
        u = json.loads(b)["usage"]
        cost = u["prompt_tokens"] + 2 * u["completion_tokens"]
        _, _, mb = request("GET", port, "/__mock/requests")
        reqs = json.loads(mb)
        assert len(reqs) == 1, reqs
        hdrs = {k.lower(): v for k, v in reqs[0]["headers"]}
        assert hdrs.get("openai-organization") == "org-newapi", hdrs
        assert hdrs["authorization"] == "Bearer k-good"
        # (Until reads come from Redis, the API shows SQL, a persister batch behind.)
        wait_for(lambda: api(g, "GET", "/api/user/self", token=tok)[1]["data"]["quota"] ==
                 500000000 - cost, 20, 0.2, what="the charge in /api/user/self")
        q = '"' if tg.kind == "postgres" else "`"

        def logged():
            r = tg.q("SELECT quota, channel_id, token_name, model_name FROM logs WHERE "
                     "type = 2 AND id > 2")
            return r and r[0]
        row = wait_for(logged, 20, 0.2, what="the call's log row")
        assert [str(x) for x in row] == [str(cost), "1", "na-token", MODEL], row
        wait_for(lambda: tg.q("SELECT quota FROM users WHERE id = 1")[0][0] in
                 (500000000 - cost, str(500000000 - cost)), 20, 0.2, what="SQL quota")
        assert tg.q("SELECT remain_quota FROM tokens WHERE id = 1")[0][0] in \
            (1000000 - cost, str(1000000 - cost))
        assert tg.q("SELECT COUNT(*) FROM %suser_sessions%s WHERE status = 'active'"
                    % (q, q))[0][0] in (1, "1")
        g.stop()
        g = None

        after = tg.schema(tables)
        for tbl in tables:
            # new-api's columns exactly as they were, in their order; only ours added
            assert newapi_part(after[tbl][0], tbl) == schema_before[tbl][0], (
                tg.kind, tbl, "columns changed", after[tbl][0], schema_before[tbl][0])
            assert newapi_indexes(after[tbl][1], tbl) == schema_before[tbl][1], (
                tg.kind, tbl, "indexes changed", after[tbl][1], schema_before[tbl][1])
        ours = set(tg.tables()) - set(tables)
        # channel_destinations: who set each channel's destination (SSRF guard),
        # kept beside channels so that its columns stay new-api's
        assert ours <= {"schema_migrations", "ledger_cursors", "channel_destinations"}, ours
    except BaseException:
        if g is not None:
            print(g.read_log()[-4000:])
            g.kill()
        raise
    finally:
        stop_mock()


def old_tf_rows(kind, base_url):
    """Rows in a database of ours from before 004: the organization in the misspelled
    column, sessions with integer statuses (1 active, 2 revoked)."""
    q = '"' if kind == "postgres" else "`"
    T, F = t(kind), f(kind)
    s = [
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '001_core', "
        "{now}), (2, '002_reference_columns', {now}), (3, '003_user_sessions', {now})",
        "INSERT INTO users (id, username, password, display_name, role, status, quota, "
        "{q}group{q}, aff_code, created_at, auth_version) VALUES (1, 'root', '{pw}', "
        "'Root User', 100, 1, 500000000, 'default', 'Ab12', {now}, 1)",
        "INSERT INTO setups (id, version, initialized_at) VALUES (1, 'v0.1.0', {now})",
        "INSERT INTO options ({q}key{q}, value) VALUES ('ModelRatio', '{{\"{m}\": 1}}')",
        "INSERT INTO options ({q}key{q}, value) VALUES ('CompletionRatio', '{{\"{m}\": 2}}')",
        "INSERT INTO channels (id, type, {q}key{q}, openai_organization, status, name, weight, "
        "created_time, base_url, models, {q}group{q}, priority, auto_ban) VALUES (1, 1, "
        "'k-good', 'org-old', 1, 'old-openai', 0, {now}, '{base}', '{m}', 'default', 0, 1)",
        "INSERT INTO abilities ({q}group{q}, model, channel_id, enabled, priority, weight) "
        "VALUES ('default', '{m}', 1, {T}, 0, 0)",
        "INSERT INTO tokens (id, user_id, {q}key{q}, status, name, created_time, expired_time, "
        "remain_quota, unlimited_quota, model_limits_enabled, {q}group{q}, cross_group_retry) "
        "VALUES (1, 1, '{key}', 1, 'old-token', {now}, -1, 1000000, {F}, {F}, '', {F})",
        "INSERT INTO user_sessions (sid, user_id, version, user_auth_version, status, "
        "refresh_hash, login_method, ip, user_agent, created_at, last_active_at, expires_at) "
        "VALUES ('old-active', 1, 1, 1, 1, '{h}', 'password', '127.0.0.1', 'ua', {now}, "
        "{now}, {exp})",
        "INSERT INTO user_sessions (sid, user_id, version, user_auth_version, status, "
        "refresh_hash, login_method, ip, user_agent, created_at, last_active_at, expires_at, "
        "revoked_at, revoked_reason) VALUES ('old-revoked', 1, 1, 1, 2, '{h}', NULL, NULL, "
        "NULL, {now}, {now}, {exp}, {now}, 'logout')",
    ]
    fmt = dict(q=q, pw=PW_HASH, now=NOW, m=MODEL, base=base_url, key=TOKEN_KEY, T=T, F=F,
               h="ab" * 32, exp=NOW + 86400)
    out = [x.format(**fmt) for x in s]
    if kind == "postgres":
        for tbl in ("users", "setups", "channels", "tokens"):
            out.append("SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                       "(SELECT MAX(id) FROM %s))" % (tbl, tbl))
    return out


def adopt_old_tf_db(tg):
    """A database of ours from before 004 moves forward: the organization reaches the
    upstream from the new column, the old column is kept, sessions convert."""
    port, stop_mock = openai_mock.start(keys=["k-good"])
    g = None
    try:
        tg.drop_all()
        old = open(os.path.join(os.path.dirname(FIXTURES), "tf_pre004", tg.kind + ".sql")).read()
        body = "\n".join(ln for ln in old.splitlines() if not ln.startswith("--"))
        tg.run_script([x.strip() for x in body.split(";\n") if x.strip().rstrip(";")] +
                      ["CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, "
                       "name VARCHAR(191) NOT NULL, applied_at BIGINT NOT NULL)"])
        tg.run_script(old_tf_rows(tg.kind, "http://127.0.0.1:%d" % port))
        g = tg.gateway(workers=1).start()
        versions = {int(r[0]) for r in tg.q("SELECT version FROM schema_migrations")}
        assert {1, 2, 3, 4} <= versions, versions
        r = tg.q("SELECT openai_organization, open_ai_organization FROM channels")
        assert [list(x) for x in r] == [["org-old", "org-old"]], r
        # new-api's columns and indexes are all there now; ours under other names are gone
        for tbl in fixture_tables(tg.kind):
            have = {c[0] for c in tg.columns(tbl)}
            want = {c[0] for c in Target.fixture_columns(tg.kind, tbl)}
            assert want <= have, (tbl, want - have)
        idx = tg.indexes("users")
        assert "idx_users_git_hub_id" in idx and "idx_users_we_chat_id" in idx, idx
        assert "idx_users_github_id" not in idx and "idx_users_wechat_id" not in idx, idx
        r = sorted(tuple(x) for x in tg.q("SELECT sid, status, login_method, revoked_at, "
                                          "previous_valid_until FROM user_sessions"))
        assert [tuple(str(v) for v in x) for x in r] == [
            ("old-active", "active", "password", "0", "0"),
            ("old-revoked", "revoked", "password", str(NOW), "0")], r
        st, j = api(g, "POST", "/api/user/login", body={"username": "root",
                                                       "password": PASSWORD})
        assert j["success"], j
        st, j = api(g, "GET", "/api/user/sessions", token=j["data"]["access_token"])
        sids = {x["sid"] for x in j["data"]} if isinstance(j["data"], list) else j
        assert "old-active" in sids and "old-revoked" not in sids, j
        st, h, b = request("POST", g.port, "/v1/chat/completions", timeout=30,
                           headers={"Authorization": "Bearer sk-" + TOKEN_KEY},
                           body={"model": MODEL, "messages": [{"role": "user",
                                                               "content": "hi"}]})
        assert st == 200, (st, b)
        _, _, mb = request("GET", port, "/__mock/requests")
        hdrs = {k.lower(): v for k, v in json.loads(mb)[0]["headers"]}
        assert hdrs.get("openai-organization") == "org-old", hdrs
        g.stop()
        g = None
    except BaseException:
        if g is not None:
            print(g.read_log()[-4000:])
            g.kill()
        raise
    finally:
        stop_mock()


STARTERS = {}


def boot_servers():
    """Starts MariaDB and PostgreSQL in the background (once)."""
    if not STARTERS:
        STARTERS.update(mariadb=Starter(dbservers.mariadb), postgres=Starter(dbservers.postgres))
        for st in STARTERS.values():
            st.start()


def server(name):
    """The running dbservers server name ("mariadb" or "postgres")."""
    boot_servers()
    st = STARTERS[name]
    st.up.wait(dbservers.START_TIMEOUT * 3)
    assert st.srv is not None, "%s did not start: %s" % (name, st.error)
    return st.srv


def on_server(name, kind):
    try:
        tg = Target(kind, srv=server(name))
        fresh_schema_matches_newapi(tg)
        adopt_newapi_db(tg)
        adopt_old_tf_db(tg)
    finally:
        STARTERS[name].release()


@case
def sqlite_newapi_database_is_adopted():
    if not os.environ.get("TEST_CASE"):
        boot_servers()      # they boot while this case runs
    d = tempfile.mkdtemp(prefix="tf-newapi-")
    try:
        tg = Target("sqlite", path=os.path.join(d, "new-api.db"))
        fresh_schema_matches_newapi(tg)
        adopt_newapi_db(tg)
        adopt_old_tf_db(tg)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def mariadb_newapi_database_is_adopted():
    on_server("mariadb", "mysql")


@case
def postgres_newapi_database_is_adopted():
    on_server("postgres", "postgres")


if __name__ == "__main__":
    try:
        main()
    finally:
        for starter in STARTERS.values():
            starter.release()
