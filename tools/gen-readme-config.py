#!/usr/bin/env python3
"""Regenerates README.md's configuration table from the config table in
gateway/core/config.c (through `token-factory --config-markdown`).
usage: tools/gen-readme-config.py BINARY README.md [--check]"""
import subprocess
import sys

BEGIN, END = "<!-- config:begin -->", "<!-- config:end -->"


def section(binary):
    out = subprocess.run([binary, "--config-markdown"], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    return f"{BEGIN}\n{out.rstrip()}\n{END}"


def main():
    binary, readme = sys.argv[1], sys.argv[2]
    text = open(readme).read()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + section(binary) + text[end:]
    if "--check" in sys.argv:
        if new != text:
            print("README.md configuration section is stale: run `make readme`")
            return 1
        return 0
    open(readme, "w").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
