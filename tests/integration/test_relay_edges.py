#!/usr/bin/env python3
"""Relay edge cases found in review (issue 10, part 9), each through a real
request to the real gateway and the OpenAI mock upstream: a reservation no
budget can hold, a stream whose budget can grow only partly, a 200 from the
upstream that is not JSON, and error messages cut inside a UTF-8 character."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      sql, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402

S = {}
# quota = prompt + completion for these models; "dear" costs 1e9 per token.
RATIOS = {"edge": 1, "long": 1, "dear": 1e9, "bad": 1, "utf0": 1, "utf1": 1, "utf2": 1,
          "dear,cheap": 1}  # a price, so that such a name would reach authorize


def set_option(g, pat, key, value):
    """Options reach every worker through the config version (250 ms poll)."""
    _set_option(g, pat, key, value)
    time.sleep(0.6)


def setup():
    """One gateway and mock for every case here."""
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps(RATIOS))
    S.update(g=g, pat=pat, port=port, stop=stop, base=f"http://127.0.0.1:{port}")
    S["uid"] = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
    return S


def token_key(s, tid):
    return f"tf:{{s{s['uid'] % 16}}}:t:{tid}"


def settled(s, tid):
    """The token has no reservation left: every call on it is settled."""
    return rcli(s["g"], "HGET", token_key(s, tid), "reserved") in ("0", "")


def logs_of(g, token_name):
    return sql(g, "SELECT quota, prompt_tokens, completion_tokens, channel_id, content, other "
                  "FROM logs WHERE type = 2 AND token_name = ? ORDER BY id", token_name)


def error_of(b):
    e = json.loads(b)["error"]
    assert set(e) >= {"message", "type", "code"}, e
    return e


@case
def a_reservation_beyond_any_budget_is_a_clear_400_not_an_outage():
    # (500 + 1e8) tokens × ratio 1e9 is past the 1e15 any budget can hold:
    # authorize.lua would refuse the argument, which read as "quota service
    # unavailable" (503). It is the client's max_tokens: a 400 saying so.
    s = setup()
    g, pat = s["g"], s["pat"]
    cid = add_channel(g, pat, "dear", s["base"], "k-good", "dear")
    tid, key = add_token(g, pat, "t-dear", remain_quota=1000)
    wait_routable(g, key, "dear")
    time.sleep(0.6)
    st, h, b = chat(g, key, {"model": "dear", "max_tokens": 100_000_000,
                             "messages": [{"role": "user", "content": "hi"}]})
    assert st == 400, (st, b)
    e = error_of(b)
    assert e["type"] == "invalid_request_error", e
    assert "max_tokens too large for the remaining quota" in e["message"], e
    # Nothing was reserved or charged, and the quota service answers as ever.
    assert settled(s, tid) and rcli(g, "HGET", token_key(s, tid), "remain_quota") == "1000"
    st, h, b = chat(g, key, {"model": "dear", "max_tokens": 1,
                             "messages": [{"role": "user", "content": "hi"}]})
    assert st == 403 and error_of(b)["code"] in ("insufficient_user_quota",
                                                 "pre_consume_token_quota_failed"), (st, b)
    # Nor a model name authorize.lua cannot take (an admin pinning a channel
    # skips routing, so such a name reached it): 400, not "unavailable".
    st, h, b = chat(g, f"{key}-{cid}", {"model": "dear,cheap", "max_tokens": 1,
                                        "messages": [{"role": "user", "content": "hi"}]})
    assert st == 400 and "may not contain ','" in error_of(b)["message"], (st, b)
    api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def a_200_that_is_not_json_moves_to_the_next_channel_then_502_and_bills_nothing():
    s = setup()
    g, pat = s["g"], s["pat"]
    set_option(g, pat, "RetryTimes", 2)
    # The bad channel is preferred (priority); its replies are a stream to a
    # non-stream call, or an HTML page.
    bad = add_channel(g, pat, "bad-sse", s["base"], "k-good", "bad", priority=10,
                      extra={"model_mapping": json.dumps({"bad": "bad@sse"})})
    good = add_channel(g, pat, "bad-fallback", s["base"], "k-good", "bad", priority=0)
    tid, key = add_token(g, pat, "t-bad", remain_quota=100_000)
    wait_routable(g, key, "bad")
    time.sleep(0.6)
    body = {"model": "bad", "messages": [{"role": "user", "content": "one two"}]}
    st, h, b = chat(g, key, body)
    assert st == 200 and h["content-type"].startswith("application/json"), (st, h, b)
    j = json.loads(b)  # the fallback's answer, real JSON
    assert j["choices"][0]["message"]["content"] == "Mock reply to: one two", j
    cost = j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"]
    wait_for(lambda: settled(s, tid) and len(logs_of(g, "t-bad")) == 1, 15, 0.1, what="the log")
    row = logs_of(g, "t-bad")[0]
    assert row[0] == cost and row[3] == good, row
    assert json.loads(row[5])["channels_tried"] == 2, row
    assert int(rcli(g, "HGET", token_key(s, tid), "remain_quota")) == 100_000 - cost
    # Only bad channels: 502 with a clear message, and the call is free.
    api(g, "DELETE", f"/api/channel/{good}", token=pat)
    html = add_channel(g, pat, "bad-html", s["base"], "k-good", "bad", priority=5,
                       extra={"model_mapping": json.dumps({"bad": "bad@html"})})
    time.sleep(0.6)
    for _ in range(2):
        st, h, b = chat(g, key, body)
        assert st == 502, (st, b)
        e = error_of(b)
        assert e["code"] == "bad_response_body" and "not the expected JSON" in e["message"], e
        assert "event-stream" not in b.decode() and "<html>" not in b.decode(), b
    wait_for(lambda: settled(s, tid) and len(logs_of(g, "t-bad")) == 3, 15, 0.1, what="logs")
    for row in logs_of(g, "t-bad")[1:]:
        assert row[0] == 0 and "not billed" in row[4], row
        assert json.loads(row[5])["channels_tried"] == 2, row
    assert int(rcli(g, "HGET", token_key(s, tid), "remain_quota")) == 100_000 - cost
    set_option(g, pat, "RetryTimes", 0)
    for cid in (bad, html):
        api(g, "DELETE", f"/api/channel/{cid}", token=pat)


def read_stream(g, key, body):
    st, h, b = chat(g, key, body)
    return st, [ln[6:] for ln in b.decode().split("\n") if ln.startswith("data: ")]


def text_of(events):
    return "".join((json.loads(e)["choices"][0]["delta"].get("content") or "")
                   for e in events if e.startswith("{\"id") and json.loads(e)["choices"])


def long_stream_token(s, name, pieces, remain):
    g, pat = s["g"], s["pat"]
    cid = add_channel(g, pat, name, s["base"], "k-good", name,
                      extra={"model_mapping": json.dumps({name: f"long@long-{pieces}"})})
    RATIOS[name] = 1
    set_option(g, pat, "ModelRatio", json.dumps(RATIOS))
    tid, key = add_token(g, pat, "t-" + name, remain_quota=remain)
    wait_routable(g, key, name)
    return cid, tid, key


@case
def a_stream_the_budget_can_pay_for_is_not_cut_when_doubling_is_refused():
    # Reservation (500 + max_tokens 1000) × 1 = 1500 of the token's 2500. The
    # stream's 1700 pieces (9090 characters) cost about 2280 by its
    # characters: doubling is refused at 1200 (80 %), but 1000 are left, and
    # the stream ends within the budget. It used to be cut at 1200.
    s = setup()
    g = s["g"]
    cid, tid, key = long_stream_token(s, "long6k", 1700, 2500)
    st, ev = read_stream(g, key, {"model": "long6k", "stream": True, "max_tokens": 1000,
                                  "messages": [{"role": "user", "content": "go"}]})
    assert st == 200
    assert not [e for e in ev if e.startswith("{\"error\"")], ev[-3:]
    assert ev[-1] == "[DONE]"
    text = text_of(ev)
    assert text.count("w") == 1700 and text.endswith("w1699 "), text[-40:]
    wait_for(lambda: settled(s, tid) and logs_of(g, "t-long6k"), 15, 0.1, what="the log")
    row = logs_of(g, "t-long6k")[0]
    remain = int(rcli(g, "HGET", token_key(s, tid), "remain_quota"))
    # Billed by the upstream's usage (the gateway asked for it): prompt + 1700.
    assert row[2] == 1700 and row[0] == row[1] + row[2] == 2500 - remain, (row, remain)
    api(g, "DELETE", f"/api/channel/{cid}", token=s["pat"])


@case
def a_spent_budget_cuts_the_stream_at_its_end_and_bills_exactly_what_was_delivered():
    # The same budget, a stream of 5000 pieces: it is cut when the next
    # event would take the delivered cost past the 2500 the token had.
    s = setup()
    g = s["g"]
    cid, tid, key = long_stream_token(s, "long20k", 5000, 2500)
    st, ev = read_stream(g, key, {"model": "long20k", "stream": True, "max_tokens": 1000,
                                  "messages": [{"role": "user", "content": "go"}]})
    assert st == 200
    errors = [json.loads(e) for e in ev if e.startswith("{\"error\"")]
    assert len(errors) == 1 and errors[0]["error"]["code"] == "insufficient_user_quota", ev[-3:]
    assert ev[-2].startswith("{\"error\"") and ev[-1] == "[DONE]", ev[-3:]
    text = text_of(ev)
    assert 0 < text.count("w") < 5000
    wait_for(lambda: settled(s, tid) and logs_of(g, "t-long20k"), 15, 0.1, what="the log")
    row = logs_of(g, "t-long20k")[0]
    remain = int(rcli(g, "HGET", token_key(s, tid), "remain_quota"))
    # No upstream usage arrived: the estimate of what was delivered, about 4
    # characters a token, is the charge, and it used the budget up.
    assert row[2] == (len(text) + 3) // 4, (row, len(text))
    assert row[0] == row[1] + row[2] == 2500 - remain, (row, remain)
    assert 2490 <= row[0] <= 2500, row
    assert "shortfall" not in row[5], row
    api(g, "DELETE", f"/api/channel/{cid}", token=s["pat"])


@case
def error_messages_are_cut_on_utf8_character_boundaries():
    # A message cut inside a character is not UTF-8; jansson refuses it, and
    # the reply became 500 "response encoding failed".
    s = setup()
    g, pat = s["g"], s["pat"]
    tid, key = add_token(g, pat, "t-utf8", remain_quota=100_000)
    # The gateway's own message: "no available channel for model %.150s ...",
    # with an "é" on bytes 150-151 of the model name.
    model = "m" * 149 + "\u00e9x"
    st, h, b = chat(g, key, {"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert st == 503, (st, b)
    e = error_of(b)
    assert e["code"] == "model_not_found" and "m" * 149 + " under group" in e["message"], e
    # The upstream's message, cut to the gateway's buffer: 400 three-byte
    # "\u20ac" after 0, 1 or 2 ASCII bytes, so wherever the cut falls, it
    # falls inside a character for two of the three.
    cids = []
    for n in range(3):
        cids.append(add_channel(g, pat, f"utf{n}", s["base"], "k-good", f"utf{n}",
                                extra={"model_mapping": json.dumps({f"utf{n}": f"edge@utf8err-{n}"})}))
    wait_routable(g, key, "utf2")
    time.sleep(0.6)
    for n in range(3):
        st, h, b = chat(g, key, {"model": f"utf{n}", "messages": [{"role": "user", "content": "hi"}]})
        assert st == 503, (n, st, b)
        msg = error_of(b)["message"]
        text = msg[:msg.index(" (request id: ")]
        assert text.startswith("x" * n) and set(text[n:]) == {"\u20ac"}, (n, msg)
        assert 90 <= len(text) - n < 400, (n, len(text))
    wait_for(lambda: settled(s, tid), 15, 0.1, what="settlement")
    assert rcli(g, "HGET", token_key(s, tid), "remain_quota") == "100000"
    for cid in cids:
        api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def management_api_error_messages_are_cut_on_utf8_character_boundaries():
    # "unknown option key: %.100s" of a key with an "é" on bytes 100-101: the
    # reply lost its message (jansson refused the cut text).
    s = setup()
    st, j = api(s["g"], "PUT", "/api/option/", token=s["pat"],
                body={"key": "k" * 99 + "\u00e9tail", "value": "1"})
    assert j["success"] is False, j
    assert j["message"] == "unknown option key: " + "k" * 99, j


@case
def shared_gateway_stops_cleanly():
    s = setup()
    s["g"].stop()
    s["stop"]()
    S.clear()


if __name__ == "__main__":
    try:
        main()
    finally:
        if S:
            S["g"].kill()
            S["stop"]()
