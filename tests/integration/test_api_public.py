#!/usr/bin/env python3
"""Public endpoints against the real gateway: /api/notice, /api/about,
/api/home_page_content (the options' text), /api/pricing (models of enabled
abilities priced from ModelPrice / ModelRatio / CompletionRatio with the reference's
defaults, group_ratio and usable_group from the group options), /api/user/groups and
the admin /api/group/, and the HeaderNavModules guard of /api/pricing. Runs on SQLite, and once per backend on MariaDB and
PostgreSQL.

usage: test_api_public.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from apihelp import Suite  # noqa: E402
from test_api_tokens import Env  # noqa: E402

harness._cases.clear()  # importing the token suite registered its cases: not ours
from harness import request  # noqa: E402


def get(e, path, token=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    st, _, b = request("GET", e.g.port, path, headers=h, timeout=30)
    return st, json.loads(b)


def set_option(e, key, value):
    e.ok("PUT", "/api/option/", e.root_pat, {"key": key, "value": value})
    time.sleep(0.6)  # every worker reloads its snapshot within ~250 ms


def abilities(e, rows):
    e.sql.exec("DELETE FROM abilities")
    for g, m, en in rows:
        e.sql.exec("INSERT INTO abilities (`group`, model, channel_id, enabled, priority, weight, "
                   "tag) VALUES (?, ?, 1, %s, 0, 0, '')" % ("TRUE" if en else "FALSE"), g, m)


def check_text_options(e):
    for path, key in (("/api/notice", "Notice"), ("/api/about", "About"),
                      ("/api/home_page_content", "HomePageContent")):
        st, j = get(e, path)
        assert st == 200 and j == {"success": True, "message": "", "data": ""}, (path, j)
        text = "<b>%s</b> '; DROP TABLE options; -- 中文" % key
        set_option(e, key, text)
        st, j = get(e, path)
        assert j["success"] is True and j["data"] == text, (path, j)
        set_option(e, key, "")


def pricing(e):
    st, j = get(e, "/api/pricing")
    assert st == 200 and j["success"] is True, j
    assert set(j) == {"success", "data", "vendors", "group_ratio", "usable_group",
                      "supported_endpoint", "auto_groups"}, set(j)
    return j


def item(j, model):
    return next(i for i in j["data"] if i["model_name"] == model)


def check_pricing(e):
    abilities(e, [])
    j = pricing(e)
    assert j["data"] == [] and j["vendors"] == [] and j["auto_groups"] == [], j
    assert j["group_ratio"] == {"default": 1, "vip": 1}, j  # svip is not usable
    assert j["usable_group"] == {"default": "默认分组", "vip": "vip分组"}, j
    abilities(e, [("default", "gpt-4o", True), ("vip", "gpt-4o", True),
                  ("default", "dall-e-3", True), ("default", "my-custom", True),
                  ("default", "claude-3-5-sonnet-20241022", True), ("vip", "gpt-3.5-turbo", True),
                  ("default", "hidden-model", False), ("default", "gemini-2.5-pro", True)])
    try:
        j = pricing(e)
        names = [i["model_name"] for i in j["data"]]
        assert sorted(names) == sorted(set(names)) and "hidden-model" not in names, names
        assert set(names) == {"gpt-4o", "dall-e-3", "my-custom", "claude-3-5-sonnet-20241022",
                              "gpt-3.5-turbo", "gemini-2.5-pro"}, names
        for i in j["data"]:
            assert set(i) == {"model_name", "quota_type", "model_ratio", "model_price",
                              "owner_by", "completion_ratio", "enable_groups",
                              "supported_endpoint_types"}, i
        g = item(j, "gpt-4o")
        assert g["quota_type"] == 0 and g["model_ratio"] == 1.25 and g["completion_ratio"] == 4
        assert g["model_price"] == 0 and sorted(g["enable_groups"]) == ["default", "vip"], g
        d = item(j, "dall-e-3")
        assert d["quota_type"] == 1 and d["model_price"] == 0.04 and d["model_ratio"] == 0, d
        c = item(j, "claude-3-5-sonnet-20241022")
        assert c["model_ratio"] == 1.5 and c["completion_ratio"] == 5, c
        assert item(j, "gpt-3.5-turbo")["model_ratio"] == 0.25
        assert item(j, "gemini-2.5-pro")["completion_ratio"] == 8
        u = item(j, "my-custom")  # no ratio configured: the reference's 37.5, completion 1
        assert u["model_ratio"] == 37.5 and u["completion_ratio"] == 1 and u["quota_type"] == 0
        # A set option replaces the built-in table (reference: the option holds the map).
        set_option(e, "ModelRatio", {"gpt-4o": 2, "my-custom": 0.5})
        set_option(e, "ModelPrice", {"my-custom": 0.25})
        set_option(e, "CompletionRatio", {"gpt-4o": 9, "my-custom": 3})
        j = pricing(e)
        g = item(j, "gpt-4o")
        assert g["model_ratio"] == 2 and g["completion_ratio"] == 9, g  # gpt-4o: not fixed
        assert item(j, "my-custom") ["quota_type"] == 1
        assert item(j, "my-custom")["model_price"] == 0.25
        assert item(j, "claude-3-5-sonnet-20241022")["model_ratio"] == 37.5
        assert item(j, "claude-3-5-sonnet-20241022")["completion_ratio"] == 5  # fixed
        assert item(j, "dall-e-3")["quota_type"] == 0  # no longer priced per call
        set_option(e, "GroupRatio", {"default": 1, "vip": 0.5, "svip": 2})
        set_option(e, "UserUsableGroups", {"default": "Default", "svip": "Super"})
        set_option(e, "AutoGroups", ["svip", "vip"])
        j = pricing(e)
        assert j["group_ratio"] == {"default": 1, "svip": 2}, j
        assert j["usable_group"] == {"default": "Default", "svip": "Super"}, j
        assert j["auto_groups"] == ["svip"], j
    finally:
        for k, v in (("ModelRatio", {}), ("ModelPrice", {}), ("CompletionRatio", {}),
                     ("GroupRatio", {"default": 1, "vip": 1, "svip": 1}),
                     ("UserUsableGroups", {"default": "默认分组", "vip": "vip分组"}),
                     ("AutoGroups", [])):
            set_option(e, k, v)
        abilities(e, [])


def status_nav(e):
    st, j = get(e, "/api/status")
    assert st == 200, (st, j)
    return j["data"]["HeaderNavModules"]


def check_pricing_guard(e):
    """HeaderNavModules' "pricing" module (the reference's HeaderNavModuleAuth): off →
    403 for everyone, requireAuth → a signed-in user, else public; every value form."""
    _, upat = e.user("pricingviewer")
    assert status_nav(e) == ""  # unset: the page is public
    assert get(e, "/api/pricing")[0] == 200
    try:
        for value, anon, user in (
                ({"pricing": False}, 403, 403),
                ({"home": True, "pricing": "0"}, 403, 403),
                ({"pricing": {"enabled": 0, "requireAuth": True}}, 403, 403),
                ({"pricing": {"enabled": True, "requireAuth": True}}, 401, 200),
                ({"pricing": {"requireAuth": "1"}}, 401, 200),
                ({"pricing": {"enabled": "TRUE", "requireAuth": 0}}, 200, 200),
                ({"home": False, "pricing": 1}, 200, 200),
                ({"pricing": "maybe"}, 200, 200),  # not a boolean form: on
                ({"docs": False}, 200, 200)):  # module absent: on
            set_option(e, "HeaderNavModules", json.dumps(value))
            assert json.loads(status_nav(e)) == value, (value, status_nav(e))
            st, j = get(e, "/api/pricing")
            assert st == anon, (value, st, j)
            if anon == 403:
                assert j == {"success": False, "message": "pricing is disabled"}, j
            if anon == 401:
                assert j["success"] is False and j["message"] and "data" not in j, j
            st, j = get(e, "/api/pricing", upat)
            assert st == user, (value, st, j)
            if user == 200:
                assert j["success"] is True and isinstance(j["data"], list), j
            else:  # the root too: off is off
                assert get(e, "/api/pricing", e.root_pat)[0] == 403
        st, j = get(e, "/api/pricing", "not-a-token-of-anyone-0123456789")
        assert st == 200, (st, j)  # public again: a bad credential is ignored
        # Only a JSON object, or empty, is accepted; a refusal keeps the old value.
        before = status_nav(e)
        for bad, words in (("[]", "must be a JSON object"), ('"pricing"', "JSON"),
                           ("true", "JSON"), ("{pricing: false}", "not valid JSON"),
                           (["pricing"], "must be a JSON object"), (False, "JSON")):
            j = e.refused("PUT", "/api/option/", e.root_pat,
                          {"key": "HeaderNavModules", "value": bad}, has=words)
            assert "HeaderNavModules" in j["message"], j
        assert status_nav(e) == before
        # The object form of the value is stored as JSON text.
        set_option(e, "HeaderNavModules", {"pricing": {"enabled": False}})
        assert json.loads(status_nav(e)) == {"pricing": {"enabled": False}}
        assert get(e, "/api/pricing")[0] == 403
        opts = {o["key"]: o["value"] for o in e.ok("GET", "/api/option/", e.root_pat)["data"]}
        assert json.loads(opts["HeaderNavModules"]) == {"pricing": {"enabled": False}}, opts
    finally:
        set_option(e, "HeaderNavModules", "")
    assert status_nav(e) == "" and get(e, "/api/pricing")[0] == 200


def check_groups(e):
    st, j = get(e, "/api/user/groups")
    assert st == 200 and j["success"] is True, j
    assert j["data"] == {"default": {"ratio": 1, "desc": "默认分组"},
                         "vip": {"ratio": 1, "desc": "vip分组"}}, j
    set_option(e, "UserUsableGroups", {"default": "D", "auto": "Automatic", "svip": "S"})
    set_option(e, "GroupRatio", {"default": 1, "vip": 1, "svip": 1.5})
    try:
        st, j = get(e, "/api/user/groups")
        assert j["data"] == {"default": {"ratio": 1, "desc": "D"},
                             "svip": {"ratio": 1.5, "desc": "S"},
                             "auto": {"ratio": "自动", "desc": "Automatic"}}, j
    finally:
        set_option(e, "UserUsableGroups", {"default": "默认分组", "vip": "vip分组"})
        set_option(e, "GroupRatio", {"default": 1, "vip": 1, "svip": 1})
    _, apat = e.user("groupadmin", role=10)
    _, upat = e.user("groupuser")
    st, j = get(e, "/api/group/", apat)
    assert st == 200 and j["success"] is True and sorted(j["data"]) == ["default", "svip", "vip"]
    st, j = get(e, "/api/group/", upat)
    assert st == 403 and j["success"] is False, (st, j)
    st, j = get(e, "/api/group/")
    assert st == 401 and j["success"] is False, (st, j)


SUITE = (check_text_options, check_pricing, check_pricing_guard, check_groups)

S = Suite(Env, SUITE)
env = S.env
S.check_cases()


S.stop_case()
S.backend_cases()

if __name__ == "__main__":
    S.main()
