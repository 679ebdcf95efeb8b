#!/usr/bin/env python3
"""GET/PUT /api/option/: the typed registry round trip (bool, int, float,
string, JSON, dotted keys), secrets hidden on read, validation of each type
with no change on refusal, unknown keys refused, root only; propagation of a
change to another replica's /api/status within 1 s; the same on MariaDB and
PostgreSQL."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from apihelp import Db, add_user, api, login, setup_root  # noqa: E402
from harness import Gateway, case, get_json, main  # noqa: E402

SECRET_SUFFIXES = ("Token", "Secret", "Key", "secret", "api_key")


def options(g, tok):
    st, _, j = api(g, "GET", "/api/option/", tok)
    assert st == 200 and j["success"], j
    assert all(set(o) == {"key", "value"} and isinstance(o["value"], str) for o in j["data"])
    return {o["key"]: o["value"] for o in j["data"]}


def put(g, tok, key, value):
    st, _, j = api(g, "PUT", "/api/option/", tok, body={"key": key, "value": value})
    assert st == 200, st
    return j


def status_field(g, name):
    st, _, j = get_json(g.port, "/api/status")
    assert st == 200, st
    return j["data"][name]


def eventually(pred, polls=20, interval=0.05):
    """True once pred() holds; at most `polls` tries 50 ms apart (1 s)."""
    for _ in range(polls):
        if pred():
            return True
        time.sleep(interval)
    return False


GOOD = [  # key, value sent, value stored
    ("RegisterEnabled", False, "false"),
    ("PasswordLoginEnabled", "true", "true"),
    ("QuotaForNewUser", 1234, "1234"),
    ("PreConsumedQuota", "250", "250"),
    ("QuotaPerUnit", 250000.5, "250000.5"),
    ("ChannelDisableThreshold", "2.5", "2.5"),
    ("SystemName", "My Gate", "My Gate"),
    ("Notice", "x'); DROP TABLE options; --", "x'); DROP TABLE options; --"),
    ("Footer", 42, "42"),
    ("ModelRatio", '{"gpt-4o": 1.25, "claude": 3}', '{"gpt-4o": 1.25, "claude": 3}'),
    ("GroupRatio", {"default": 1, "vip": 0.5}, '{"default":1,"vip":0.5}'),
    ("GroupGroupRatio", '{"vip": {"default": 0.9}}', '{"vip": {"default": 0.9}}'),
    ("UserUsableGroups", '{"default": "Default"}', '{"default": "Default"}'),
    ("general_setting.ping_interval_enabled", True, "true"),
    ("monitor_setting.auto_test_channel_minutes", 30, "30"),
    ("quota_setting.enable_free_model_pre_consume", "false", "false"),
    ("group_ratio_setting.group_special_usable_group", '{"vip": {"append_1": "x"}}',
     '{"vip": {"append_1": "x"}}'),
]

BAD = [  # key, value, words expected in the message
    ("RegisterEnabled", "yes", "true or false"),
    ("RegisterEnabled", 1, "true or false"),
    ("QuotaForNewUser", "12abc", "integer"),
    ("QuotaForNewUser", 1.5, "integer"),
    ("QuotaForNewUser", -1, "between"),
    ("QuotaForNewUser", 1e300, "between"),
    ("QuotaForNewUser", "1 OR 1=1", "integer"),
    ("RetryTimes", 101, "between"),
    ("QuotaPerUnit", "abc", "number"),
    ("QuotaPerUnit", 0, "between"),
    ("ModelRatio", "{broken", "JSON"),
    ("ModelRatio", '{"a": "x"}', "number"),
    ("ModelRatio", '{"a": -1}', "number"),
    ("ModelRatio", "[1, 2]", "object"),
    ("ModelRatio", True, "JSON"),
    ("GroupGroupRatio", '{"vip": {"a": "b"}}', "number"),
    ("UserUsableGroups", '{"a": 1}', "string"),
    ("Chats", '{"a": 1}', "array"),
    ("SystemName", None, "required"),
    ("SystemName", {"a": 1}, "string"),
    ("SystemName", "x" * (1024 * 1024 + 1), "too long"),
    ("NoSuchOption", "x", "unknown option key"),
    ("SystemName'; DROP TABLE options; --", "x", "unknown option key"),
    ("", "x", "key"),
    (5, "x", "key"),
]


def table(db):
    return sorted(tuple(r) for r in db.query("SELECT `key`, value FROM options"))


def exercise(g, db):
    setup_root(g)
    tok = login(g)
    before = options(g, tok)
    assert before["QuotaPerUnit"] == "500000" and before["RetryTimes"] == "0", before
    assert before["general_setting.ping_interval_enabled"] == "false"
    # Unset price tables show the built-in tables the relay prices with.
    assert json.loads(before["ModelRatio"])["gpt-4o"] == 1.25, before["ModelRatio"][:200]
    assert json.loads(before["ModelPrice"])["dall-e-3"] == 0.04
    assert before["SelfUseModeEnabled"] == "false"
    assert not [k for k in before if k.endswith(SECRET_SUFFIXES)], before.keys()

    for key, sent, stored in GOOD:
        j = put(g, tok, key, sent)
        assert j["success"], (key, j)
    after = options(g, tok)
    rows = dict(table(db))
    for key, _, stored in GOOD:
        assert after[key] == stored, (key, after[key])
        assert rows[key] == stored, (key, rows[key])

    # Secrets are written but never read back.
    for key in ("GitHubClientSecret", "SMTPToken", "TurnstileSecretKey", "WorkerValidKey"):
        assert put(g, tok, key, "s3cr3t-value")["success"], key
    listed = options(g, tok)
    assert not [k for k in listed if k.endswith(SECRET_SUFFIXES)]
    assert dict(table(db))["GitHubClientSecret"] == "s3cr3t-value"
    # A key of an imported reference database, unknown here, is still listed.
    db.exec("INSERT INTO options (`key`, value) VALUES ('LegacyThing', 'kept')")
    db.exec("INSERT INTO options (`key`, value) VALUES ('LegacyApiSecret', 'hidden')")
    listed = options(g, tok)
    assert listed["LegacyThing"] == "kept" and "LegacyApiSecret" not in listed

    # Refusals: a clear message, nothing changed.
    snapshot = table(db)
    for key, value, words in BAD:
        j = put(g, tok, key, value)
        assert j["success"] is False and words in j["message"], (key, value, j)
    for raw, words in ((b"{nope", "JSON"), (b"", "empty"), (b"[1]", "object"),
                       (b'{"value": 1}', "key")):
        st, _, j = api(g, "PUT", "/api/option/", tok, body=raw)
        assert st == 200 and j["success"] is False and words in j["message"], (raw, j)
    assert table(db) == snapshot
    # The status page reads the options (this replica; bounded poll).
    assert eventually(lambda: status_field(g, "system_name") == "My Gate")
    # Every worker sees it within the same bound (requests may reach any of them).
    assert eventually(lambda: all(status_field(g, "quota_per_unit") == 250000.5
                                  for _ in range(4)))
    return tok


@case
def options_round_trip_secrets_and_validation():
    with Gateway(workers=2) as g:
        exercise(g, Db.sqlite(g))
        g.stop()


@case
def options_are_root_only():
    with Gateway(workers=1) as g:
        setup_root(g)
        db = Db.sqlite(g)
        add_user(db, "admin1", 10, "adminpat0123456789abcdefghijklmn")
        add_user(db, "user1", 1, "userpat01234567890abcdefghijklmn")
        for tok in ("adminpat0123456789abcdefghijklmn", "userpat01234567890abcdefghijklmn"):
            for method, body in (("GET", None), ("PUT", {"key": "SystemName", "value": "x"})):
                st, _, j = api(g, method, "/api/option/", tok, body=body)
                assert st == 403 and j["success"] is False, (tok, method, st, j)
        st, _, j = api(g, "GET", "/api/option/")
        assert st == 401, st
        assert not db.query("SELECT value FROM options WHERE `key` = 'SystemName'")
        g.stop()


@case
def change_reaches_other_replica_within_one_second():
    secret = {"SESSION_SECRET": "replicas-share-this-secret-0123"}
    a = Gateway(workers=2, env=secret).start()
    b = None
    try:
        sock = os.path.join(a.data_dir, "redis.sock")
        b = Gateway(workers=2, env=dict(secret, REDIS_CONN_STRING="unix://" + sock,
                                        SQLITE_PATH=os.path.join(a.data_dir, "token-factory.db")))
        b.start()
        setup_root(a)
        tok = login(a)
        for i, (key, field, value, want) in enumerate((
                ("SystemName", "system_name", "Replica Test 1", "Replica Test 1"),
                ("SystemName", "system_name", "Replica Test 2", "Replica Test 2"),
                ("Footer", "footer_html", "<b>f</b>", "<b>f</b>"),
                ("DemoSiteEnabled", "demo_site_enabled", True, True),
                ("QuotaPerUnit", "quota_per_unit", 1000, 1000))):
            t0 = time.monotonic()
            assert put(a, tok, key, value)["success"]
            # Visible on B after at most 20 polls 50 ms apart.
            assert eventually(lambda: status_field(b, field) == want), (key, status_field(b, field))
            # Once 1 s has passed every worker of both replicas has it.
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
            for g in (a, b, b, a, b, b, a, b, b, b):
                assert status_field(g, field) == want, (key, g.port)
        # Option reads through B see A's writes.
        assert options(b, tok)["SystemName"] == "Replica Test 2"
        b.stop()
        b = None
    finally:
        if b:
            b.kill()
        a.stop()


@case
def options_on_mariadb():
    with dbservers.mariadb() as srv:
        with Gateway(workers=2, env={"SQL_DSN": srv.dsn}) as g:
            exercise(g, Db.of(srv))
            g.stop()


@case
def options_on_postgres():
    with dbservers.postgres() as srv:
        with Gateway(workers=2, env={"SQL_DSN": srv.dsn}) as g:
            exercise(g, Db.of(srv))
            g.stop()


if __name__ == "__main__":
    main()
