"""The Responses API of openai_mock.py (a mixin of its Handler; stdlib only).

POST /v1/responses (JSON, or with `stream: true` the semantic SSE events, each
`event: <type>` + `data: {..., "sequence_number": n}`, no [DONE]),
GET and DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel and
GET /v1/responses/{id}/input_items, in the wire format of
platform.openai.com/docs/api-reference/responses (the `openai` SDK parses it in
tests/integration/test_mocks.py). Stored responses (store is not false) are
kept so that GET returns what was served. See README.md for the replies.
"""
import hashlib
import json
import time

from mockutil import pieces_of, text_of, words


def item_text(it):
    if isinstance(it, str):
        return it
    if not isinstance(it, dict):
        return ""
    t = it.get("type")
    if t == "function_call_output":
        out = it.get("output")
        return out if isinstance(out, str) else json.dumps(out)
    if t == "function_call":
        return it.get("arguments", "") if isinstance(it.get("arguments"), str) else ""
    c = it.get("content")
    if isinstance(c, list):
        return " ".join(p.get("text", "") for p in c if isinstance(p, dict) and isinstance(p.get("text"), str))
    return text_of(c)


def input_items(inp):
    """The input as a list of items (a string is one user message)."""
    if isinstance(inp, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": inp}]}]
    out = []
    for it in inp if isinstance(inp, list) else []:
        if not isinstance(it, dict):
            continue
        it = dict(it)
        if "role" in it and "type" not in it:
            it["type"] = "message"
        if it.get("type") == "message" and isinstance(it.get("content"), str):
            kind = "output_text" if it.get("role") == "assistant" else "input_text"
            it["content"] = [{"type": kind, "text": it["content"]}]
        out.append(it)
    return out


def not_found(rid):
    return {"error": {"message": "Response with id '%s' not found." % rid, "type": "invalid_request_error",
                      "param": None, "code": None}}


class ResponsesMixin:
    def responses_route(self, method):
        """Handles /v1/responses[/...] for `method`; False when the path is not one of them."""
        p = self.path.split("?")[0]
        if p.startswith("/v1/"):
            p = p[3:]
        if not p.startswith("/responses"):
            return False
        parts = p.strip("/").split("/")
        if method == "POST" and len(parts) == 1:
            return "create"
        if len(parts) == 2 and method in ("GET", "DELETE"):
            return "get" if method == "GET" else "delete"
        if len(parts) == 3 and method == "POST" and parts[2] == "cancel":
            return "cancel"
        if len(parts) == 3 and method == "GET" and parts[2] == "input_items":
            return "input_items"
        return None

    def responses_other(self, op):
        """GET/DELETE /responses/{id}, cancel and input_items (auth already checked)."""
        from urllib.parse import parse_qs
        path, _, q = self.path.partition("?")
        rid = path.rstrip("/").split("/responses/")[1].split("/")[0]
        with self.st.lock:
            rec = self.st.responses.get(rid)
        if rec is None:
            return self.send_json(404, not_found(rid))
        if op == "get":
            if rec["response"]["status"] == "queued":   # a background response finishes when looked at
                rec["response"] = rec["final"]
            return self.send_json(200, rec["response"])
        if op == "delete":
            with self.st.lock:
                self.st.responses.pop(rid, None)
            return self.send_json(200, {"id": rid, "object": "response", "deleted": True})
        if op == "cancel":
            if not rec["background"]:
                return self.send_json(400, {"error": {"message": "Only responses created with background=true can be cancelled.",
                                                      "type": "invalid_request_error", "param": None, "code": None}})
            if rec["response"]["status"] in ("queued", "in_progress"):
                rec["response"] = dict(rec["response"], status="cancelled")
            return self.send_json(200, rec["response"])
        qs = parse_qs(q)
        items = list(rec["input_items"])
        if (qs.get("order") or ["desc"])[-1] == "desc":
            items.reverse()
        after = (qs.get("after") or [None])[-1]
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        limit = int((qs.get("limit") or ["20"])[-1])
        page = items[:limit]
        self.send_json(200, {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                             "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})

    def ids(self, prefix, n=1):
        return ["%s_mock%06d" % (prefix, self.st.next_id()) for _ in range(n)]

    def do_responses(self, req, model, b):
        items = input_items(req.get("input"))
        prev_id = req.get("previous_response_id")
        prev = None
        if prev_id is not None:
            with self.st.lock:
                prev = self.st.responses.get(prev_id)
            if prev is None:
                return self.send_json(400, {"error": {"message": "Previous response with id '%s' not found." % prev_id,
                                                      "type": "invalid_request_error", "param": "previous_response_id",
                                                      "code": "previous_response_not_found"}})
        prompt = len(words(req.get("instructions") if isinstance(req.get("instructions"), str) else ""))
        prompt += sum(1 + len(words(item_text(it))) for it in items)
        if prev is not None:
            prompt += prev["response"]["usage"]["total_tokens"] if prev["response"].get("usage") else 0
        last_user = next((item_text(it) for it in reversed(items)
                          if it.get("type") == "message" and it.get("role") == "user"), "")
        outputs = [it for it in items if it.get("type") == "function_call_output"]
        output, out_tokens, reasoning_tokens = [], 0, 0
        reasoning = req.get("reasoning") if isinstance(req.get("reasoning"), dict) else {}
        if b.has("thinking") or reasoning.get("effort") in ("low", "medium", "high", "xhigh"):
            t = "Thinking about: " + (last_user or "(nothing)")
            reasoning_tokens = len(words(t))
            summary = [{"type": "summary_text", "text": t}] if (reasoning.get("summary") or b.has("thinking")) else []
            output.append({"id": self.ids("rs")[0], "type": "reasoning", "summary": summary,
                           "encrypted_content": None if "reasoning.encrypted_content" not in (req.get("include") or [])
                           else "gAAAAmock" + hashlib.sha256(t.encode()).hexdigest()})
            out_tokens += reasoning_tokens
        tools = [t for t in (req.get("tools") or []) if isinstance(t, dict) and t.get("type") == "function"]
        status, incomplete = "completed", None
        if tools and not outputs and req.get("tool_choice") != "none":
            choice = req.get("tool_choice")
            name = choice.get("name") if isinstance(choice, dict) and choice.get("name") else tools[0].get("name", "tool")
            args = json.dumps({"input": last_user})
            fid, cid = self.ids("fc")[0], self.ids("call")[0]
            output.append({"id": fid, "type": "function_call", "status": "completed", "arguments": args,
                           "call_id": cid, "name": name})
            out_tokens += len(words(args)) + 1
        else:
            if b.long_n:
                pieces = ["w%d " % i for i in range(b.long_n)]
            elif outputs:
                pieces = pieces_of("Tool said: " + " ".join(item_text(o) for o in outputs))
            else:
                pieces = pieces_of("Mock reply to: " + (last_user or "(nothing)"))
            limit = req.get("max_output_tokens")
            if isinstance(limit, int) and 0 < limit < out_tokens + len(pieces):
                pieces = pieces[:max(limit - out_tokens, 0)]
                status, incomplete = "incomplete", {"reason": "max_output_tokens"}
            output.append({"id": self.ids("msg")[0], "type": "message", "status": status, "role": "assistant",
                           "content": [{"type": "output_text", "text": "".join(pieces), "annotations": [],
                                        "logprobs": []}], "_pieces": pieces})
            out_tokens += len(pieces)
        cached = prompt // 2 if b.has("cached") else 0
        usage = None if b.has("no-usage") else {
            "input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt + out_tokens}
        rid = self.ids("resp")[0]
        clean = [{k: v for k, v in o.items() if k != "_pieces"} for o in output]
        resp = {"id": rid, "object": "response", "created_at": int(time.time()), "status": status,
                "background": bool(req.get("background")), "error": None, "incomplete_details": incomplete,
                "instructions": req.get("instructions"), "max_output_tokens": req.get("max_output_tokens"),
                "model": model, "output": clean, "parallel_tool_calls": req.get("parallel_tool_calls", True),
                "previous_response_id": prev_id,
                "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
                "service_tier": "default", "store": req.get("store", True) is not False,
                "temperature": req.get("temperature", 1.0), "text": req.get("text") or {"format": {"type": "text"}},
                "tool_choice": req.get("tool_choice", "auto"), "tools": req.get("tools") or [],
                "top_p": req.get("top_p", 1.0), "truncation": req.get("truncation", "disabled"),
                "usage": usage, "user": None, "metadata": req.get("metadata") or {}}
        stored = [dict(it, id=it.get("id") or self.ids("msg" if it.get("type") == "message" else "item")[0])
                  for it in items]
        rec = {"response": resp, "final": resp, "input_items": stored, "background": bool(req.get("background"))}
        if req.get("background"):
            rec["response"] = dict(resp, status="queued", output=[], usage=None)
        if resp["store"]:
            with self.st.lock:
                self.st.responses[rid] = rec
                while len(self.st.responses) > 1000:
                    self.st.responses.pop(next(iter(self.st.responses)))
        if req.get("background"):
            return self.send_json(200, rec["response"])
        if not req.get("stream") and not b.has("sse"):
            return self.send_json(200, resp)
        self.stream_response(resp, output, b)

    def stream_response(self, resp, output, b):
        events = []

        def ev(etype, **kw):
            events.append(dict({"type": etype}, **kw))

        ev("response.created", response=dict(resp, status="in_progress", output=[], usage=None, incomplete_details=None))
        ev("response.in_progress", response=dict(resp, status="in_progress", output=[], usage=None, incomplete_details=None))
        for oi, o in enumerate(output):
            item = {k: v for k, v in o.items() if k != "_pieces"}
            iid = item["id"]
            if item["type"] == "reasoning":
                ev("response.output_item.added", output_index=oi, item=dict(item, summary=[]))
                for si, s in enumerate(item["summary"]):
                    ev("response.reasoning_summary_part.added", item_id=iid, output_index=oi, summary_index=si,
                       part={"type": "summary_text", "text": ""})
                    for p in pieces_of(s["text"]):
                        ev("response.reasoning_summary_text.delta", item_id=iid, output_index=oi, summary_index=si, delta=p)
                    ev("response.reasoning_summary_text.done", item_id=iid, output_index=oi, summary_index=si, text=s["text"])
                    ev("response.reasoning_summary_part.done", item_id=iid, output_index=oi, summary_index=si, part=s)
            elif item["type"] == "function_call":
                ev("response.output_item.added", output_index=oi, item=dict(item, arguments="", status="in_progress"))
                a = item["arguments"]
                for part in (a[:len(a) // 2], a[len(a) // 2:]):
                    ev("response.function_call_arguments.delta", item_id=iid, output_index=oi, delta=part)
                ev("response.function_call_arguments.done", item_id=iid, output_index=oi, arguments=a, name=item["name"])
            else:
                ev("response.output_item.added", output_index=oi, item=dict(item, status="in_progress", content=[]))
                ev("response.content_part.added", item_id=iid, output_index=oi, content_index=0,
                   part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})
                for p in o["_pieces"]:
                    ev("response.output_text.delta", item_id=iid, output_index=oi, content_index=0, delta=p, logprobs=[])
                text = item["content"][0]["text"]
                ev("response.output_text.done", item_id=iid, output_index=oi, content_index=0, text=text, logprobs=[])
                ev("response.content_part.done", item_id=iid, output_index=oi, content_index=0, part=item["content"][0])
            ev("response.output_item.done", output_index=oi, item=item)
        if b.has("fail-mid"):
            del events[3:]
            ev("response.failed", response=dict(resp, status="failed", usage=None, output=[],
                                                error={"code": "server_error", "message": "The model failed."}))
        else:
            ev("response.incomplete" if resp["status"] == "incomplete" else "response.completed", response=resp)
        for i, e in enumerate(events):
            e["sequence_number"] = i
        self.start_stream()

        def enc(e):
            return b"event: " + e["type"].encode() + b"\ndata: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n"

        if b.has("burst"):
            self.chunk(b"".join(enc(e) for e in events))
            return self.end_stream()
        try:
            for i, e in enumerate(events):
                if b.has("stall") and i == b.stall_after:
                    return self.stall()
                if b.has("slow") and i:
                    time.sleep(b.delay_ms / 1000.0)
                self.chunk(enc(e))
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def selftest(call):
    """Checks the Responses endpoints; `call(path, body=None, method=None)` -> (status, text, headers)."""
    s, t, _ = call("/v1/responses", {"model": "gpt-4o", "input": "hello there", "instructions": "be nice"})
    j = json.loads(t)
    assert s == 200 and j["object"] == "response" and j["status"] == "completed", t
    assert j["output"][0]["content"][0]["text"] == "Mock reply to: hello there", t
    assert j["usage"]["input_tokens"] == 5 and j["usage"]["output_tokens"] == 5 and j["usage"]["total_tokens"] == 10
    rid = j["id"]
    s, t, _ = call("/v1/responses/" + rid)
    assert s == 200 and json.loads(t) == j, t
    s, t, _ = call("/v1/responses/%s/input_items" % rid)
    li = json.loads(t)
    assert li["object"] == "list" and li["data"][0]["content"][0]["text"] == "hello there" and li["data"][0]["id"], t
    s, t, _ = call("/v1/responses", {"model": "gpt-4o", "input": "again", "previous_response_id": rid})
    assert json.loads(t)["usage"]["input_tokens"] == 2 + 10, t
    s, t, _ = call("/v1/responses", {"model": "gpt-4o", "input": "x", "previous_response_id": "resp_nope"})
    assert s == 400, t
    s, t, _ = call("/v1/responses/" + rid, method="DELETE")
    assert json.loads(t) == {"id": rid, "object": "response", "deleted": True}, t
    s, t, _ = call("/v1/responses/" + rid)
    assert s == 404 and "not found" in json.loads(t)["error"]["message"], t
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    s, t, h = call("/v1/responses", {"model": "gpt-4o@cached", "input": [{"role": "user", "content": "hello there"}],
                                     "tools": tools, "stream": True, "reasoning": {"effort": "low", "summary": "auto"}})
    assert h["Content-Type"].startswith("text/event-stream"), h
    evs, name = [], None
    for line in t.split("\n"):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            evs.append(json.loads(line[6:]))
            assert evs[-1]["type"] == name
    assert [e["sequence_number"] for e in evs] == list(range(len(evs))), evs
    types = [e["type"] for e in evs]
    assert types[0] == "response.created" and types[-1] == "response.completed" and "[DONE]" not in t, types
    assert "response.reasoning_summary_text.delta" in types and "response.function_call_arguments.delta" in types
    fin = evs[-1]["response"]
    assert fin["output"][1]["type"] == "function_call" and json.loads(fin["output"][1]["arguments"]) == {"input": "hello there"}
    u = fin["usage"]
    assert u["input_tokens_details"]["cached_tokens"] == 1 and u["output_tokens_details"]["reasoning_tokens"] == 4, u
    s, t, _ = call("/v1/responses", {"model": "gpt-4o", "input": [
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"}], "tools": tools})
    assert json.loads(t)["output"][0]["content"][0]["text"] == "Tool said: sunny", t
    s, t, _ = call("/v1/responses", {"model": "gpt-4o", "input": "bg", "background": True})
    bg = json.loads(t)
    assert bg["status"] == "queued", t
    s, t, _ = call("/v1/responses/%s/cancel" % bg["id"], {})
    assert json.loads(t)["status"] == "cancelled", t
    s, t, _ = call("/v1/responses/%s/cancel" % j["id"], {})
    assert s == 404, t
    s, t, _ = call("/v1/responses", {"model": "gpt-4o@429", "input": "x"})
    assert s == 429, t
