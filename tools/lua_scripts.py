"""The Lua scripts as the gateway loads them (gateway/state/scripts.c): each
scripts/NAME.lua with scripts/lib/common.lua inserted right after its leading
--[[ ... ]] contract comment. For tests and the bench, which EVAL a script
themselves or name one by its SHA1."""
import hashlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")


def _lib_at(text):
    if not text.startswith(b"--[["):
        return 0
    i = text.find(b"\n]]", 4)
    if i < 0:
        return 0
    nl = text.find(b"\n", i + 3)
    return len(text) if nl < 0 else nl + 1


def text(name):
    """The composed text of scripts/<name>.lua, as bytes."""
    with open(os.path.join(SCRIPTS, name + ".lua"), "rb") as f:
        src = f.read()
    lib_path = os.path.join(SCRIPTS, "lib", "common.lua")
    if not os.path.exists(lib_path):
        return src
    with open(lib_path, "rb") as f:
        lib = f.read()
    at = _lib_at(src)
    return src[:at] + lib + b"\n" + src[at:]


def names():
    """sha1 hex -> file name of every script the gateway loads."""
    out = {}
    for f in sorted(os.listdir(SCRIPTS)):
        if f.endswith(".lua"):
            out[hashlib.sha1(text(f[:-4])).hexdigest()] = f
    return out
