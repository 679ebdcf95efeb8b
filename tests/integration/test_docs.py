#!/usr/bin/env python3
"""The README's configuration section is generated from the config table;
this fails when someone changes one without the other. And the sources keep
their rules: every allocation goes through gateway/core/alloc.h."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, ROOT, case, main  # noqa: E402


@case
def readme_configuration_section_is_current():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools/gen-readme-config.py"), BINARY,
                        os.path.join(ROOT, "README.md"), "--check"], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout


@case
def every_config_variable_is_documented():
    out = subprocess.run([BINARY, "--config-markdown"], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    readme = open(os.path.join(ROOT, "README.md")).read()
    names = [ln.split("|")[1].strip().strip("`") for ln in out.splitlines()[2:] if ln.startswith("|")]
    assert len(names) >= 15, names
    for n in names:
        assert n in readme, n


@case
def bad_configuration_is_refused_with_the_variable_named():
    env = dict(os.environ, PORT="99999")
    p = subprocess.run([BINARY], env=env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode == 2 and "PORT" in p.stdout, p.stdout


@case
def readme_images_exist():
    """Every image the README shows (the console's screenshots, taken by
    tests/e2e) is committed."""
    import re
    readme = open(os.path.join(ROOT, "README.md")).read()
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert len(images) >= 4, images
    missing = [i for i in images if not os.path.isfile(os.path.join(ROOT, i))]
    assert not missing, f"README shows missing images: {missing}"


def check_alloc(root):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools/check-alloc.py"), root],
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@case
def every_allocation_goes_through_gw_alloc():
    p = check_alloc(ROOT)
    assert p.returncode == 0, p.stdout
    # The check finds a raw call, and only real ones.
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "persist"))
        os.makedirs(os.path.join(d, "gateway", "core"))
        with open(os.path.join(d, "gateway", "core", "alloc.c"), "w") as f:
            f.write("void *x(void) { return realloc(0, 1); }\n")  # the one allowed place
        with open(os.path.join(d, "persist", "x.c"), "w") as f:
            f.write("/* malloc(1) in a comment */ const char *s = \"calloc(1, 2)\";\n"
                    "char *a = gw_malloc(3), *b = gw_strdup(s); // strdup(s)\n"
                    "void *c = lib->malloc(4); void *l = malloc(5); /* raw-alloc-ok: lib frees */\n"
                    "char *y = strdup(s);\n"
                    "void *z = calloc (1, 8);\n")
        p = check_alloc(d)
        assert p.returncode == 1, p.stdout
        found = [ln.split(":")[1] for ln in p.stdout.splitlines() if ln.startswith("persist/")]
        assert found == ["4", "5"], p.stdout


if __name__ == "__main__":
    main()
