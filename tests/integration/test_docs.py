#!/usr/bin/env python3
"""The README's configuration section is generated from the config table;
this fails when someone changes one without the other."""
import os
import subprocess
import sys

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


if __name__ == "__main__":
    main()
