"""Figure (h) of tests/bench/run.py: a converted call (issue 11).

An Anthropic client (POST /v1/messages, stream, x-api-key) relayed to the
OpenAI upstream (the nginx SSE mock: 20 content events, a finish event, a
usage chunk, [DONE]) against the same-format chat stream (POST
/v1/chat/completions to the same upstream), in the same run, interleaved:
requests per second at 64 connections, and the gateway's CPU time per call
(utime + stime of the supervisor, the ledger process and the workers, from
/proc/<pid>/stat, over each wrk run, divided by its requests).

Until the gateway serves /v1/messages the figure is "not available" with the
answer it gave; run.py prints that and goes on.
"""
import json
import os
import statistics

CLK_TCK = os.sysconf("SC_CLK_TCK")
PATH = "/v1/messages"
ANTHROPIC_VERSION = "2023-06-01"


def cpu_ticks(pids):
    """utime + stime of these processes (all their threads), in clock ticks."""
    n = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            n += int(fields[11]) + int(fields[12])   # fields 14 and 15 of proc(5)
        except (OSError, IndexError, ValueError):
            pass
    return n


def body_file(tmp, model):
    path = os.path.join(tmp, f"body-messages-{model}.json")
    with open(path, "w") as f:
        json.dump({"model": model, "stream": True, "max_tokens": 64,
                   "messages": [{"role": "user", "content": "Say something short."}]}, f)
    return path


def wrk_script(tmp, model, key):
    path = os.path.join(tmp, f"wrk-messages-{model}.lua")
    with open(body_file(tmp, model)) as f:
        body = f.read()
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n'
                f'wrk.body = [[{body}]]\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["x-api-key"] = "{key}"\n'
                f'wrk.headers["anthropic-version"] = "{ANTHROPIC_VERSION}"\n')
    return path


def probe(http, port, tmp, model, key):
    """None when /v1/messages streams a converted answer, else why not."""
    try:
        st, head, b = http(port, "POST", PATH, body=open(body_file(tmp, model), "rb").read(),
                           headers={"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION},
                           timeout=10)
    except OSError as e:
        return f"{PATH}: {e}"
    if st != 200:
        return f"{PATH} answered {st}: {b[:160].decode('utf-8', 'replace').strip()}"
    need = (b"event: message_start", b"event: content_block_delta", b"event: message_delta",
            b"event: message_stop")
    missing = [n.decode()[7:] for n in need if n not in b]
    if missing:
        return f"{PATH} answered 200 without {', '.join(missing)}"
    deltas = b.count(b"event: content_block_delta")
    if deltas < 20:
        return f"{PATH} answered {deltas} content_block_delta events, not the upstream's 20"
    return None


def measure(gw, key, tmp, model, chat_script, http, wrk, say, rounds, secs):
    """{'na': why} or {'rps': {...}, 'cpu_us': {...}, 'requests': {...}} (medians over rounds)."""
    why = probe(http, gw.port, tmp, model, key)
    if why:
        say(f"  (h) not available: {why}")
        return {"na": why}
    conv = wrk_script(tmp, model, key)
    base = f"http://127.0.0.1:{gw.port}"
    targets = (("same-format chat", base + "/v1/chat/completions", chat_script),
               ("converted messages", base + PATH, conv))
    wrk(targets[1][1], conv, 64, 1)    # warm-up
    runs = {name: [] for name, _, _ in targets}
    for rnd in range(rounds):
        for name, url, script in targets:
            t0 = cpu_ticks(gw.pids())
            r = wrk(url, script, 64, secs)
            t1 = cpu_ticks(gw.pids())
            us = (t1 - t0) * 1e6 / CLK_TCK / max(r["requests"], 1)
            runs[name].append((r["rps"], us, r["requests"], r["non2xx"]))
            say(f"  {name:20s} round {rnd + 1}: {r['rps']:8.0f} req/s  {us:7.1f} us CPU/call")
    med = lambda name, i: statistics.median(x[i] for x in runs[name])  # noqa: E731
    out = {"rps": {n: med(n, 0) for n in runs}, "cpu_us": {n: med(n, 1) for n in runs},
           "requests": {n: sum(x[2] for x in runs[n]) for n in runs},
           "non2xx": {n: sum(x[3] for x in runs[n]) for n in runs}}
    same, conv_ = out["cpu_us"]["same-format chat"], out["cpu_us"]["converted messages"]
    out["cpu_ratio"] = conv_ / same if same else float("nan")
    out["rps_ratio"] = (out["rps"]["converted messages"] / out["rps"]["same-format chat"]
                        if out["rps"]["same-format chat"] else float("nan"))
    return out


def rows(h):
    """Rows for run.py's figure table."""
    if "na" in h:
        return [("(h) converted stream: Anthropic client -> OpenAI upstream", "not available: " + h["na"], "")]
    r, c = h["rps"], h["cpu_us"]
    return [
        ("(h) converted stream req/s @64: same-format chat / /v1/messages->chat",
         f"{r['same-format chat']:.0f} / {r['converted messages']:.0f}", f"x{h['rps_ratio']:.2f}"),
        ("(h) gateway CPU per call (us): same-format chat / converted",
         f"{c['same-format chat']:.1f} / {c['converted messages']:.1f}", f"x{h['cpu_ratio']:.2f}"),
    ]


def section(h, command, build=None):
    """The RESULTS.md section for figure (h); `build` says which gateway ran."""
    out = ["## Converted call (issue 11)", ""] + ([build, ""] if build else [])
    if "na" in h:
        return out + [f"Not available in this run: {h['na']}.", ""]
    r, c = h["rps"], h["cpu_us"]
    out += ["An Anthropic client (`POST /v1/messages`, `stream: true`, `x-api-key`) relayed to the "
            "OpenAI-format SSE mock (20 content events, finish, usage, [DONE]), converted both "
            "ways, against the same-format chat stream to the same mock; interleaved wrk runs at "
            "64 connections, medians of the rounds. CPU: utime + stime of every gateway process "
            "(`/proc/<pid>/stat`) over each run, divided by its requests.", "",
            "| path | req/s @64 | gateway CPU per call (us) | requests (non-2xx) |", "|---|---|---|---|"]
    for n in ("same-format chat", "converted messages"):
        out.append(f"| {n} | {r[n]:.0f} | {c[n]:.1f} | {h['requests'][n]} ({h['non2xx'][n]}) |")
    out += ["", f"Converted / same-format: {h['rps_ratio']:.2f}x the req/s, {h['cpu_ratio']:.2f}x the CPU "
            "per call. (The req/s of one run moves with whatever else the shared CPUs do; "
            "the CPU per call is the figure to compare across runs.)", "", "Command: `" + command + "`", ""]
    return out
