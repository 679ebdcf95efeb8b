#!/usr/bin/env python3
"""Fails when C code allocates outside gateway/core/alloc.h.

Every allocation goes through gw_malloc/gw_calloc/gw_realloc/gw_strdup/
gw_strndup (alloc.c holds the one raw realloc), so that failure injection
(gw_alloc_fail_after) reaches it. This scans the gateway's sources (gateway/,
adapters/, persist/; comments and string literals ignored) for raw malloc,
calloc, realloc, reallocarray, strdup, strndup, asprintf and vasprintf.

A line may keep a raw call when a library must own the memory (it frees it
itself, or requires its own allocator): it says so in a comment on that line,
`raw-alloc-ok: <why>`.

    tools/check-alloc.py [ROOT]     exit 0 clean, 1 with the offending lines
"""
import os
import re
import sys

DIRS = ("gateway", "adapters", "persist")
ALLOWED_FILES = {os.path.join("gateway", "core", "alloc.c")}
RAW = re.compile(r"(?<![\w.>])(malloc|calloc|realloc|reallocarray|strdup|strndup|asprintf|"
                 r"vasprintf)\s*\(")
MARK = "raw-alloc-ok:"


def strip_code(text):
    """The text with comments and string/char literals blanked (newlines
    kept, so line numbers stay right)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def scan(root):
    bad = []
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if rel in ALLOWED_FILES:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                lines = text.split("\n")
                for no, line in enumerate(strip_code(text).split("\n"), 1):
                    m = RAW.search(line)
                    if m and MARK not in lines[no - 1]:
                        bad.append(f"{rel}:{no}: raw {m.group(1)}(): {lines[no - 1].strip()}")
    return bad


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    bad = scan(root)
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} allocation(s) bypass gateway/core/alloc.h: use gw_malloc & co. "
              f"(or say why on the line: '{MARK} <why>')")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
