#!/usr/bin/env python3
"""End-to-end regressions for what the libFuzzer targets (tests/fuzz) found.

1. An upstream that reports absurd usage (tests/fuzz/fuzz_adapter.c):
   prompt_tokens 2^63-1 with total_tokens 0 made the OpenAI parser sum past
   LLONG_MAX (undefined behaviour; under UBSan the worker aborted and the
   client lost the call). Counts are clamped to GW_USAGE_TOKENS_MAX (1e9):
   the call is answered, logged with the clamped count and charged within
   the budget, in the plain and the streamed path alike.
2. A malformed JSON body whose bad token holds raw non-UTF-8 bytes
   (tests/fuzz/fuzz_relay_request.c): jansson quotes it in its message, which
   went into the client's JSON error unchecked, so the error reply itself
   could not be encoded. Now a clear 400 in the caller's format, on the
   relay and on the management API.
3. A price table the option API accepted but billing refuses
   (tests/fuzz/fuzz_api_json.c): duplicate keys, or a ratio above 1e9. The
   API said success and showed the new value while every worker logged
   "ratio options invalid" and kept charging the old prices. Now the PUT
   is refused with the reason and the stored value and the charge agree.
4. A param_override "move" without "to" (tests/fuzz/fuzz_param_override.c)
   failed without a message, and "operation move failed: %s" then quoted the
   relay's uninitialised stack buffer: stack bytes (or an ASan over-read)
   in the client's error. Now the error names the cause, nothing more."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SANITIZER_RE, Gateway, case, main, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      set_option, sql, user_quota, wait_routable)

CLAMP = 10**9  # GW_USAGE_TOKENS_MAX
BUDGET = 5_000_000


def token_left(g, tid):
    uid = sql(g, "SELECT user_id FROM tokens WHERE id = ?", tid)[0][0]  # a token lives in its user's shard
    return int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:t:{tid}", "remain_quota") or -1)


@case
def absurd_upstream_usage_is_clamped_logged_and_charged_within_budget():
    port, stop = openai_mock.start(keys=["k"])
    g = Gateway(workers=1).start()
    try:
        pid = g.stats()["pid"]
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({"huge-model": 1}))
        add_channel(g, pat, "huge", f"http://127.0.0.1:{port}", "k", "huge-model",
                    extra={"model_mapping": json.dumps({"huge-model": "huge-model@usage-huge"})})
        for stream in (False, True):
            name = "t-huge-%d" % stream
            tid, key = add_token(g, pat, name, remain_quota=BUDGET)
            wait_routable(g, key, "huge-model")
            body = {"model": "huge-model", "messages": [{"role": "user", "content": "hi"}]}
            if stream:
                body.update(stream=True, stream_options={"include_usage": True})
            st, _, b = chat(g, key, body)
            assert st == 200, (st, b[:300])
            if stream:
                assert b.rstrip().endswith(b"data: [DONE]"), b[-200:]
            else:
                # the client sees the upstream's body as it came
                assert json.loads(b)["usage"]["prompt_tokens"] == 2**63 - 1
            # logged with the clamped count, charged the whole budget and no more
            def row():
                r = sql(g, "SELECT prompt_tokens, completion_tokens, quota, other FROM logs "
                           "WHERE type = 2 AND token_name = ?", name)
                return r[0] if r else None
            r = wait_for(row, 15, 0.1, what="the log row")
            assert r[0] == CLAMP and 0 < r[1] < 100, r
            assert r[2] == BUDGET, r
            assert json.loads(r[3]) is not None
            assert token_left(g, tid) == 0, token_left(g, tid)
        assert g.stats()["pid"] == pid, "the worker restarted"
        log = g.read_log()
        assert not SANITIZER_RE.search(log), log[-4000:]
    finally:
        g.stop()
        stop()


BAD_BODIES = [
    b'{"\\u' + b"\xf4\x8f" * 40 + b"ru",
    b'{"model": "gpt-4o", "messages": tru\xc3',
    b'{"model": "\xff\xfe", ' + b"\xe6\x97" * 100,
]


@case
def malformed_json_with_raw_bytes_gets_a_clear_400_in_the_callers_format():
    g = Gateway(workers=1).start()
    try:
        pat = root_pat(g)
        _, key = add_token(g, pat, "t-bad")
        for body in BAD_BODIES:
            st, h, b = request("POST", g.port, "/v1/chat/completions", body=body,
                               headers={"Authorization": "Bearer " + key,
                                        "Content-Type": "application/json"})
            assert st == 400, (st, b[:300])
            err = json.loads(b)["error"]
            assert err["type"] == "invalid_request_error", err
            assert err["message"].startswith("invalid JSON body: invalid JSON at line 1"), err
            st, h, b = request("POST", g.port, "/api/token/", body=body,
                               headers={"Authorization": "Bearer " + pat,
                                        "Content-Type": "application/json"})
            j = json.loads(b)
            assert j["success"] is False and j["message"].startswith("invalid JSON body:"), (st, j)
        log = g.read_log()
        assert not SANITIZER_RE.search(log), log[-4000:]
    finally:
        g.stop()


@case
def a_price_table_billing_would_refuse_is_refused_by_the_option_api():
    port, stop = openai_mock.start(keys=["k"])
    g = Gateway(workers=2).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({"priced": 1}))
        add_channel(g, pat, "p", f"http://127.0.0.1:{port}", "k", "priced")
        tid, key = add_token(g, pat, "t-priced", remain_quota=BUDGET)
        wait_routable(g, key, "priced")
        for bad in ('{"priced": 3, "priced": 3}', {"priced": 2e9}):
            st, j = api(g, "PUT", "/api/option/", token=pat, body={"key": "ModelRatio", "value": bad})
            assert j["success"] is False and "ModelRatio" in j["message"], (bad, j)
        st, j = api(g, "GET", "/api/option/", token=pat)
        shown = [o["value"] for o in j["data"] if o["key"] == "ModelRatio"]
        assert json.loads(shown[0]) == {"priced": 1}, shown
        time.sleep(0.6)  # a reload would have reached the workers by now
        uid = sql(g, "SELECT user_id FROM tokens WHERE id = ?", tid)[0][0]
        q0 = user_quota(g, uid)
        st, _, b = chat(g, key, {"model": "priced", "messages": [{"role": "user", "content": "hi"}]})
        assert st == 200, b
        u = json.loads(b)["usage"]
        # ratio 1, completion ratio 1 (unknown model): the price the API shows
        assert user_quota(g, uid) == q0 - (u["prompt_tokens"] + u["completion_tokens"])
        log = g.read_log()
        assert "ratio options invalid" not in log, log[-3000:]
    finally:
        g.stop()
        stop()


@case
def a_failing_param_override_reports_its_cause_and_no_stack_bytes():
    port, stop = openai_mock.start(keys=["k"])
    g = Gateway(workers=1).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({"ovr": 1}))
        ops = {"operations": [{"mode": "move", "from": "model"}]}
        add_channel(g, pat, "ovr", f"http://127.0.0.1:{port}", "k", "ovr",
                    extra={"param_override": json.dumps(ops)})
        _, key = add_token(g, pat, "t-ovr")
        wait_routable(g, key, "ovr")
        for _ in range(3):
            st, _, b = chat(g, key, {"model": "ovr", "messages": [{"role": "user", "content": "x"}]})
            assert st >= 400, (st, b[:300])
            msg = json.loads(b)["error"]["message"]
            assert msg.startswith("cannot build the upstream request: operation move failed: "
                                  "cannot move to path  (request id: "), msg
        log = g.read_log()
        assert not SANITIZER_RE.search(log), log[-4000:]
    finally:
        g.stop()
        stop()


if __name__ == "__main__":
    main()
