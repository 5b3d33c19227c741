# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The Makefile on a fresh machine: before `make deps` has installed the
libraries, pkg-config finds none of them. A target that compiles nothing
must not ask it (a newcomer's first `make demo` printed its errors before
deps even ran), and one that compiles must stop with a single message
saying to run `make deps`."""
import os
import subprocess

from conftest import REPO

NOT_FOUND = "was not found in the pkg-config search path"


def make(tmp_path, *args, **env):
    """make -n ARGS with a pkg-config that finds no package: prints the
    recipes, expanding each as make would before running it."""
    empty = tmp_path / "pkgconfig"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "PKG_CONFIG_PATH": str(empty), "PKG_CONFIG_LIBDIR": str(empty), **env}
    return subprocess.run(["make", "-n", "-C", REPO, *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_no_pkg_config_before_deps(tmp_path):
    for target in ("deps", "clean"):
        r = make(tmp_path, target)
        assert r.returncode == 0, r.stderr
        assert NOT_FOUND not in r.stdout + r.stderr, target
        assert "scripts/deps.sh" in r.stdout or target != "deps", r.stdout


def test_no_compiler_before_deps(tmp_path):
    """Nor the compiler, which deps installs too."""
    r = make(tmp_path, "deps", CC="/nonexistent/cc")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_compile_without_packages_says_make_deps(tmp_path):
    for target in ("odtrace", ".output/tests/test_hist"):
        r = make(tmp_path, "-B", target)  # -B: compile even what is up to date
        assert r.returncode != 0, target
        assert NOT_FOUND not in r.stderr, r.stderr
        errors = [line for line in r.stderr.splitlines() if "***" in line]
        assert len(errors) == 1 and "make deps" in errors[0] and "libbpf" in errors[0], r.stderr
