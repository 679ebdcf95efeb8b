#!/usr/bin/env python3
"""A channel is routable on every worker of every replica as soon as the API
call that added it has answered (issue 10, part 7; docs/ARCHITECTURE.md, Relay,
"reload on a miss"): two replicas with two workers each on one SQLite file and
one Redis; a channel for a new model is added through one replica, and at once
24 calls, each on a new connection, alternate between the replicas. Every call
must answer 200, in every round; in the last rounds the model's price is saved
right before its channel, and must apply at once too; then a price saved for a
channel that had none applies at once on every worker. A model no channel serves
still answers 503."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main  # noqa: E402
from relayfix import add_channel, add_token, api, chat, openai_mock, root_pat  # noqa: E402
from relayfix import set_option, wait_routable  # noqa: E402

ROUNDS = 5
CALLS = 24


def calls(gws, key, model, n=CALLS):
    """n calls right away, alternating between the gateways; the statuses."""
    out = []
    for i in range(n):
        g = gws[i % len(gws)]
        st, _, b = chat(g, key, {"model": model, "messages": [{"role": "user",
                                                                "content": "hi"}]})
        out.append((st, b[:200]))
    return out


@case
def a_new_channel_answers_at_once_on_every_worker_of_every_replica():
    port, stop_mock = openai_mock.start(keys=["k-prov"])
    a = Gateway(workers=2).start()
    b = None
    try:
        b = Gateway(workers=2, env={
            "REDIS_CONN_STRING": "unix://" + os.path.join(a.data_dir, "redis.sock"),
            "SQLITE_PATH": os.path.join(a.data_dir, "token-factory.db")}).start()
        pat = root_pat(a)
        # Rounds 0-2 find their price saved long before; rounds 3-4 have it saved
        # right before their channel, so the option must be there at once too.
        ratios = {m: 1 for m in ["prov-%d" % i for i in range(3)] + ["prov-base"]}
        set_option(a, pat, "ModelRatio", json.dumps(ratios))
        base = "http://127.0.0.1:%d" % port
        add_channel(a, pat, "base", base, "k-prov", "prov-base")
        _, key = add_token(a, pat, "t-prov", remain_quota=100_000_000)
        # Every worker has a table and the first prices.
        wait_routable(a, key, "prov-base")
        wait_routable(b, key, "prov-base")
        for r in range(ROUNDS):
            model = "prov-%d" % r
            if model not in ratios:
                ratios[model] = 1
                set_option(a, pat, "ModelRatio", json.dumps(ratios))
            add_channel(a, pat, "prov-%d" % r, base, "k-prov", model)
            got = calls([a, b], key, model)
            bad = [x for x in got if x[0] != 200]
            assert not bad, (r, len(bad), bad[:3])
        # A channel whose model has no price yet: refused until the price is
        # saved, and served on every worker once the option's answer is in.
        add_channel(a, pat, "late", base, "k-prov", "prov-late")
        wait_routable(a, key, "prov-late")
        wait_routable(b, key, "prov-late")
        for _ in range(ROUNDS):
            st, _, body = chat(b, key, {"model": "prov-late", "messages": [
                {"role": "user", "content": "x"}]})
            assert st == 503 and b"price" in body, (st, body)
        ratios["prov-late"] = 1
        set_option(b, pat, "ModelRatio", json.dumps(ratios))
        got = calls([a, b], key, "prov-late")
        bad = [x for x in got if x[0] != 200]
        assert not bad, ("price", len(bad), bad[:3])
        # A model nobody serves: still a 503 naming it, not a wait.
        st, _, body = chat(b, key, {"model": "prov-none", "messages": [{"role": "user",
                                                                         "content": "x"}]})
        assert st == 503 and "prov-none" in body.decode(), (st, body)
    finally:
        if b:
            b.stop()
        a.stop()
        stop_mock()


if __name__ == "__main__":
    main()
