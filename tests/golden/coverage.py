#!/usr/bin/env python3
"""Coverage of issue 11 section 3 by the golden fixtures: prints COVERAGE.md."""
import json,glob,os,sys,re
root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
def walk(x,path=()):
    yield path,x
    if isinstance(x,dict):
        for k,v in x.items(): yield from walk(v,path+(k,))
    elif isinstance(x,list):
        for i,v in enumerate(x): yield from walk(v,path+(i,))
def feats(side):
    f=set(); keys=set(); strs=[]
    ntool=0
    for p,v in walk(side):
        k=p[-1] if p else None
        if isinstance(k,str): keys.add(k)
        if isinstance(v,str): strs.append((k,v))
        if isinstance(v,dict):
            t=v.get('type')
            r=v.get('role')
            if r in('system','developer'): f.add('sys')
            if t in('document','input_file') or (t=='file' and 'file' in v): f.add('doc')
            if t=='tool_use' or 'functionCall' in v or 'function_call' in v or t=='function_call': ntool+=1
            if t in('thinking','redacted_thinking','reasoning') or v.get('thought') is True: f.add('think')
            if t=='tool_result' or r=='tool' or 'functionResponse' in v or 'function_response' in v or t=='function_call_output': f.add('toolres')
            if t in ('thinking','reasoning_content') : pass
            for uk in('cache_read_input_tokens','cached_tokens','cachedContentTokenCount'):
                if isinstance(v.get(uk),int) and v[uk]>0: f.add('cread')
            for uk in('cache_creation_input_tokens','cached_creation_tokens','ephemeral_5m_input_tokens'):
                if isinstance(v.get(uk),int) and v[uk]>0: f.add('cw5m')
            for uk in('ephemeral_1h_input_tokens','gw_cache_write_1h'):
                if isinstance(v.get(uk),int) and v[uk]>0: f.add('cw1h')
            for uk in('reasoning_tokens','thoughtsTokenCount'):
                if isinstance(v.get(uk),int) and v[uk]>0: f.add('rtok')
            if 'tool_calls' in v and isinstance(v['tool_calls'],list):
                ntool+=len(v['tool_calls'])
            if t=='image' or t=='input_image' or t=='image_url':
                s=json.dumps(v)
                f.add('img64' if ('base64' in s or 'data:image' in s) else 'imgurl')
            for ik in('inlineData','inline_data'):
                if ik in v:
                    m=v[ik].get('mimeType',v[ik].get('mime_type',''))
                    f.add('img64' if m.startswith('image') else 'doc')
            for ik in('fileData','file_data'):
                if ik in v and isinstance(v[ik],dict):
                    m=v[ik].get('mimeType',v[ik].get('mime_type',''))
                    f.add('imgurl' if m.startswith('image') else 'doc')
    if ntool>=2: f.add('parallel')
    if ntool>=1: f.add('toolcall')
    for k in keys:
        if k in('system','systemInstruction','system_instruction','instructions'): f.add('sys')
        if k in('tools',): f.add('tools')
        if k in('tool_choice','toolConfig','tool_config'): f.add('toolchoice')
        if k in('response_format','responseSchema','responseJsonSchema','response_schema','response_json_schema','responseMimeType','output_format'): f.add('json')
        if k in('reasoning_effort','thinkingConfig','thinking_config','budget_tokens','effort','thinkingBudget','gw_thinking_budget'): f.add('effort')
        if k in('reasoning_content','gw_thinking','thinking'): f.add('think')
        if k in('signature','thoughtSignature','encrypted_content'): f.add('sig')
        if k in('refusal',): f.add('refusal')
    for k,s in strs:
        if k=='type' and s in('json_schema',): f.add('json')
        if k=='type' and ('reasoning' in s or 'thinking' in s): f.add('think')
        if k=='type' and 'signature' in s: f.add('sig')
        if k in('finish_reason','stop_reason','finishReason','status','reason'): f.add('stop:'+s)
        if k=='role' and s in ('developer',): f.add('dev')
    return f
def roles(fmt,inp):
    seq=[]
    if not isinstance(inp,dict): return False
    arr=inp.get('messages') or inp.get('contents') or (inp.get('input') if isinstance(inp.get('input'),list) else None) or []
    for m in arr:
        if isinstance(m,dict):
            r=m.get('role') or m.get('type')
            seq.append(r)
    return any(a==b for a,b in zip(seq,seq[1:])) , len(seq)
# ---- the table ----
FMT = ["chat", "messages", "gemini", "responses"]
COLS = [("sys", "system/developer"), ("multi", "multi-turn, merged turns"), ("img", "images b64+URL"),
        ("doc", "documents"), ("tools", "tools, tool_choice, parallel, results, ids"),
        ("json", "structured output"), ("reason", "reasoning (effort, thinking, signatures)"),
        ("stop", "stop reasons"), ("usage", "usage (cache read, write 5m/1h, reasoning)"),
        ("refuse", "refusals (n>1 etc.; model refusals)")]
REQ_ONLY = {"sys", "multi", "img", "doc", "json"}


def want(col, kind, a, b):
    """(sub-features wanted, n/a reason or None)"""
    if kind == "request":
        if col == "sys": return ({"sys"} | ({"dev"} if a in ("chat", "responses") else set()), None)
        if col == "multi": return ({"multiturn", "merge"}, None)
        if col == "img": return ({"img64", "imgurl"}, None)
        if col == "doc": return ({"doc"}, None)
        if col == "tools":
            return ({"tools", "toolchoice", "parallel", "toolres"} | ({"genid"} if a == "gemini" else set()), None)
        if col == "json":
            if a == "messages":
                return (set(), "Messages requests carry no response format the reference reads (Anthropic's output_format/output_config.format is not mapped): nothing to convert")
            if b == "messages": return (set(), "Claude has no response_format in the reference's mapping: dropped as the reference drops it (fixture shows the drop)")
            return ({"json"}, None)
        if col == "reason":
            w = {"effort", "think"}
            if a != "chat" and b != "chat": w.add("sig")  # chat has no signature field
            return (w, None)
        if col == "stop": return (set(), "request side: stop sequences only (covered where present)")
        if col == "usage": return (set(), "request side has no usage")
        if col == "refuse":
            if a == "messages":
                return (set(), "Messages has no field whose drop the reference refuses (no n, no stored conversation); server tools are dropped: *_server_tool_dropped")
            return ({"refused"}, None)
    else:
        if col in REQ_ONLY: return (set(), "request-side concept")
        if col == "tools": return ({"toolcall", "parallel"}, None)
        if col == "reason":
            w = {"think"}
            if a != "chat" and b == "messages": w.add("sig")
            return (w, None)
        if col == "stop": return ({"stopvals"}, None)
        if col == "usage":
            w = {"cread"}
            if a == "messages": w |= {"cw5m", "cw1h"}
            if a != "messages" and b != "messages": w.add("rtok")
            return (w, None)
        if col == "refuse": return ({"modelrefusal"}, None)
    return (set(), "?")


def have(col, kind, fx, fi, fe):
    s = set(fi)
    if kind == "request":
        if any(x.startswith("REFUSED") for x in fi): s.add("refused")
        if fx["from"] == "gemini" and "toolcall" in fi and "<any>" not in json.dumps(fx.get("expected")) \
                and "call_1" in json.dumps(fx.get("expected")): s.add("genid")
        if fx["from"] == "gemini" and "toolcall" in fi and fx["to"] != "gemini": s.add("genid")
        if "think" in fi and "sig" in fi: s.add("sig")
    else:
        if any(x.startswith("stop:") for x in fi): s.add("stopvals")
        if "refusal" in fi or "stop:refusal" in fi or "stop:SAFETY" in fi: s.add("modelrefusal")
        if "sig" not in fe: s.discard("sig")
        if fx.get("usage"):
            u = fx["usage"]
            if u.get("cache_write"): s.add("cw5m")
            if u.get("cache_write_1h"): s.add("cw1h")
            if u.get("cached"): s.add("cread")
            if u.get("reasoning"): s.add("rtok")
    return s


# the stop reasons of each source format (Responses: status, incomplete_details.reason)
STOPS = {"chat": {"stop", "length", "tool_calls", "content_filter"},
         "messages": {"end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence"},
         "gemini": {"STOP", "MAX_TOKENS", "SAFETY"},
         "responses": {"completed", "incomplete", "max_output_tokens", "content_filter"}}
cells = {}
stops = {}
NOTES = {}
for kind in ("request", "response", "stream"):
    for fn in sorted(glob.glob(f"{root}/{kind}/*.json")):
        fx = json.load(open(fn))
        a, b = fx["from"], fx["to"]
        if a == b: continue
        fi = feats(fx["input"]); fe = feats(fx.get("expected", {}))
        if kind == "request":
            m, n = roles(a, fx["input"])
            if m: fi.add("merge")
            if n >= 3: fi.add("multiturn")
        if "expected_error" in fx: fi.add("REFUSED")
        short = os.path.basename(fn)[len(f"{a}_to_{b}_"):-5]
        for col, _ in COLS:
            w, na = want(col, kind, a, b)
            if na: continue
            got = have(col, kind, fx, fi, fe) & w
            if got:
                c = cells.setdefault((kind, a, b, col), [set(), []])
                c[0] |= got; c[1].append(short)
        stops.setdefault((kind, a, b), set()).update(x[5:] for x in fi if x.startswith("stop:"))

print("# Golden fixtures: coverage of issue 11 section 3\n")
print("Generated by `python3 tests/golden/coverage.py tests/golden > tests/golden/COVERAGE.md`, which reads")
print("every fixture and detects the features in its input (heuristics over the JSON keys; see the")
print("script). A cell lists the fixtures (name without the `FROM_to_TO_` prefix) that carry the")
print("feature; `MISSING: x` names a part of the checklist item no fixture of that cell has yet;")
print("`n/a` says why the cell does not apply. The runner is tests/unit/test_adapter_format_golden.c")
print("(`ctest --test-dir build/asan -R format_golden`), which also fails when a direction has no")
print("passing fixture of a kind.\n")
for kind in ("request", "response", "stream"):
    print(f"## {kind}\n")
    print("| direction | " + " | ".join(t for _, t in COLS) + " |")
    print("|---" * (len(COLS) + 1) + "|")
    for a in FMT:
        for b in FMT:
            if a == b: continue
            row = [f"{a} → {b}"]
            for col, _ in COLS:
                w, na = want(col, kind, a, b)
                if na:
                    if na not in NOTES:
                        NOTES[na] = len(NOTES) + 1
                    row.append(f"n/a [{NOTES[na]}]")
                    continue
                c = cells.get((kind, a, b, col))
                if not c:
                    row.append("**MISSING**")
                    continue
                miss = w - c[0]
                txt = ", ".join(sorted(set(c[1])))
                if col == "stop":
                    seen = stops[(kind, a, b)]
                    txt += " (" + "/".join(sorted(seen)) + ")"
                    lack = STOPS[a] - seen
                    if lack: txt += " — MISSING stop: " + ", ".join(sorted(lack))
                if miss: txt += " — MISSING: " + ", ".join(sorted(miss))
                row.append(txt)
            print("| " + " | ".join(row) + " |")
    print()
print("## Notes\n")
for na, i in NOTES.items():
    print(f"{i}. {na}")
print()
print(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "COVERAGE.tail.md")).read().rstrip())
