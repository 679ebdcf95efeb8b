#!/usr/bin/env python3
"""/api/log/*: admin and self lists with every reference filter and paging,
keyword search, stat {quota, rpm, tpm}, ownership (a user sees only their own
rows, without admin fields), bad input (wrong types, SQL metacharacters, huge
numbers) answered clearly, delete before a timestamp in batches; on SQLite,
MariaDB and PostgreSQL. Rows are inserted directly in SQL."""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from apihelp import Db, add_user, api, login, setup_root  # noqa: E402
from harness import Gateway, case, main  # noqa: E402

ALICE_PAT = "alicepat0123456789abcdefghijklmn"
BOB_PAT = "bobpat000123456789abcdefghijklmn"
ADMIN_INFO = '{"admin_info":{"use_channel":[7]},"model_ratio":1,"stream_status":"ok"}'


def seed(db):
    now = int(time.time())
    alice = add_user(db, "alice", 1, ALICE_PAT)
    bob = add_user(db, "bob", 1, BOB_PAT)
    db.exec("INSERT INTO channels (id, type, `key`, name, status) VALUES (7, 1, 'k', 'chan-seven', 1)")
    rows = [  # user, name, age s, type, content, token, model, quota, pt, ct, channel, group, rid, other
        (alice, "alice", 1000, 2, "", "t1", "gpt-4o", 100, 10, 5, 7, "default", "rid-a1", ADMIN_INFO),
        (alice, "alice", 500, 2, "", "t2", "gpt-4o-mini", 200, 20, 10, 7, "vip", "rid-a2", ""),
        (alice, "alice", 10, 2, "", "t1", "claude-3", 300, 30, 15, 8, "default", "rid-a3", ""),
        (alice, "alice", 5, 1, "topup 100", "", "", 1000, 0, 0, 0, "", "", ""),
        (bob, "bob", 20, 2, "", "tb", "gpt-4o", 50, 7, 3, 7, "default", "rid-b1", ""),
        (bob, "bob", 100000, 2, "", "tb", "my_model", 5, 1, 1, 7, "default", "rid-b2", ""),
        (bob, "bob", 200000, 5, "upstream error 500", "tb", "gpt-4o", 0, 0, 0, 7, "default",
         "rid-b3", ""),
    ]
    for (uid, name, age, typ, content, tok, model, quota, pt, ct, ch, grp, rid, other) in rows:
        db.exec("INSERT INTO logs (user_id, created_at, type, content, username, token_name, "
                "model_name, quota, prompt_tokens, completion_tokens, use_time, is_stream, "
                "channel_id, token_id, `group`, ip, request_id, other) VALUES "
                f"({uid}, {now - age}, {typ}, '{content}', '{name}', '{tok}', '{model}', {quota}, "
                f"{pt}, {ct}, 1, TRUE, {ch}, 0, '{grp}', '', '{rid}', '{other}')")
    return now


def get(g, tok, path, **params):
    q = urllib.parse.urlencode(params)
    st, _, j = api(g, "GET", path + ("?" + q if q else ""), tok)
    assert st == 200, (st, j)
    return j


def page(g, tok, path="/api/log/", **params):
    j = get(g, tok, path, **params)
    assert j["success"], (params, j)
    d = j["data"]
    return d["total"], d["items"], d


def exercise(g, db):
    setup_root(g)
    root = login(g)
    now = seed(db)

    # Admin list: every row, id desc, paged.
    total, items, d = page(g, root)
    assert total == 7 and d["page"] == 1 and d["page_size"] == 10, d
    ids = [i["id"] for i in items]
    assert ids == sorted(ids, reverse=True)
    first = items[-1]
    assert first["channel"] == 7 and first["channel_name"] == "chan-seven", first
    assert first["is_stream"] is True and first["quota"] == 100 and first["request_id"] == "rid-a1"
    assert "admin_info" in json.loads(first["other"])
    topup = [i for i in items if i["type"] == 1][0]
    assert "request_id" not in topup, topup  # omitempty
    t, p1, _ = page(g, root, page_size=3)
    t2, p2, _ = page(g, root, page_size=3, p=2)
    assert t == t2 == 7 and len(p1) == 3 and len(p2) == 3 and p1[-1]["id"] > p2[0]["id"]
    assert page(g, root, p=-5)[2]["page"] == 1
    assert page(g, root, page_size=100000)[2]["page_size"] == 100

    for params, want in (({"username": "alice"}, 4), ({"type": 2}, 5), ({"type": 1}, 1),
                         ({"model_name": "gpt-4o"}, 3), ({"model_name": "gpt-4o%"}, 4),
                         ({"model_name": "%4o%"}, 4), ({"model_name": "my_model"}, 1),
                         ({"model_name": "myXmodel"}, 0), ({"token_name": "t1"}, 2),
                         ({"channel": 7}, 5), ({"group": "vip"}, 1),
                         ({"request_id": "rid-a2"}, 1),
                         ({"start_timestamp": now - 600}, 4), ({"end_timestamp": now - 600}, 3),
                         ({"start_timestamp": now - 600, "end_timestamp": now - 15}, 2),
                         ({"username": "alice", "type": 2, "token_name": "t1"}, 2),
                         ({"username": "x' OR '1'='1"}, 0),
                         ({"model_name": "' OR 1=1 --"}, 0), ({"group": "default'--"}, 0),
                         ({"type": ""}, 7)):
        assert page(g, root, **params)[0] == want, (params, page(g, root, **params)[0])

    # Search: the one-api keyword (type, or content prefix for admins).
    assert page(g, root, "/api/log/search", keyword="upstream")[0] == 1
    assert page(g, root, "/api/log/search", keyword="2")[0] == 5
    assert page(g, root, "/api/log/search", keyword="100%")[0] == 0  # % is literal here

    # Self: own rows only, renumbered, no admin fields; admin filters ignored.
    total, items, _ = page(g, ALICE_PAT, "/api/log/self", username="bob", channel=8)
    assert total == 4 and [i["id"] for i in items] == [1, 2, 3, 4], items
    assert {i["username"] for i in items} == {"alice"}
    assert all(i["channel_name"] == "" for i in items)
    other = json.loads(items[-1]["other"])
    assert "admin_info" not in other and "stream_status" not in other and other["model_ratio"] == 1
    total, items, _ = page(g, ALICE_PAT, "/api/log/self", p=2, page_size=3)
    assert total == 4 and [i["id"] for i in items] == [4]
    assert page(g, BOB_PAT, "/api/log/self", model_name="gpt-4o")[0] == 2  # consume + error
    assert page(g, ALICE_PAT, "/api/log/self/search", keyword="1")[0] == 1
    assert page(g, BOB_PAT, "/api/log/self/search", keyword="1")[0] == 0

    # Stat: quota over the range (consume rows); rpm/tpm over the last 60 s.
    s = get(g, root, "/api/log/stat")["data"]
    assert s == {"quota": 655, "rpm": 2, "tpm": 55}, s
    s = get(g, root, "/api/log/stat", username="alice")["data"]
    assert s == {"quota": 600, "rpm": 1, "tpm": 45}, s
    s = get(g, root, "/api/log/stat", start_timestamp=now - 600)["data"]
    assert s["quota"] == 550, s
    s = get(g, root, "/api/log/stat", model_name="gpt-4o", channel=7)["data"]
    assert s == {"quota": 150, "rpm": 1, "tpm": 10}, s
    s = get(g, BOB_PAT, "/api/log/self/stat")["data"]
    assert s == {"quota": 55, "rpm": 1, "tpm": 10}, s
    s = get(g, ALICE_PAT, "/api/log/self/stat", username="bob")["data"]
    assert s["quota"] == 600, s

    # Ownership: admin endpoints refuse users.
    for method, path in (("GET", "/api/log/"), ("GET", "/api/log/stat"),
                         ("GET", "/api/log/search"), ("DELETE", "/api/log/?target_timestamp=9")):
        st, _, j = api(g, method, path, ALICE_PAT)
        assert st == 403 and j["success"] is False, (path, st, j)
    st, _, _ = api(g, "GET", "/api/log/self")
    assert st == 401

    # Bad input: a clear message, no rows touched.
    for params, words in (({"type": "abc"}, "type"), ({"type": "1;DROP TABLE logs"}, "type"),
                          ({"start_timestamp": "-1"}, "start_timestamp"),
                          ({"end_timestamp": "99999999999999999999"}, "end_timestamp"),
                          ({"channel": "7 OR 1=1"}, "channel"),
                          ({"model_name": "%%"}, "consecutive"),
                          ({"model_name": "%a%b%"}, "at most 2"),
                          ({"model_name": "%a"}, "2 characters"),
                          ({"username": "u" * 300}, "longer")):
        j = get(g, root, "/api/log/", **params)
        assert j["success"] is False and words in j["message"], (params, j)
        j = get(g, root, "/api/log/stat", **params)
        assert j["success"] is False, (params, j)
    j = get(g, ALICE_PAT, "/api/log/self", type="x")
    assert j["success"] is False and "type" in j["message"]
    for q, words in (("", "required"), ("?target_timestamp=abc", "target_timestamp"),
                     ("?target_timestamp=0", "required"),
                     ("?target_timestamp=1%20OR%201=1", "target_timestamp")):
        st, _, j = api(g, "DELETE", "/api/log/" + q, root)
        assert st == 200 and j["success"] is False and words in j["message"], (q, j)
    assert page(g, root)[0] == 7

    # Delete before a time: the two old rows.
    st, _, j = api(g, "DELETE", f"/api/log/?target_timestamp={now - 50000}", root)
    assert j["success"] and j["data"] == 2, j
    assert page(g, root)[0] == 5
    return root


@case
def logs_filters_paging_stat_ownership_on_sqlite():
    with Gateway(workers=2) as g:
        db = Db.sqlite(g)
        root = exercise(g, db)
        # Batches: 2500 old rows go in three statements, all counted.
        import sqlite3
        c = sqlite3.connect(db.path, timeout=30)
        c.executemany("INSERT INTO logs (user_id, created_at, type, username) VALUES (1, ?, 2, 'r')",
                      [(i % 50 + 1,) for i in range(2500)])
        c.commit()
        c.close()
        st, _, j = api(g, "DELETE", "/api/log/?target_timestamp=100", root)
        assert j["success"] and j["data"] == 2500, j
        assert page(g, root)[0] == 5
        g.stop()


@case
def logs_on_mariadb():
    with dbservers.mariadb() as srv:
        with Gateway(workers=2, env={"SQL_DSN": srv.dsn}) as g:
            exercise(g, Db.of(srv))
            g.stop()


@case
def logs_on_postgres():
    with dbservers.postgres() as srv:
        with Gateway(workers=2, env={"SQL_DSN": srv.dsn}) as g:
            exercise(g, Db.of(srv))
            g.stop()


if __name__ == "__main__":
    main()
