"""The Debian packages `make test` needs besides Python's: installed when missing and run as root, else named.

    python3 tools/system_packages.py

The browser tests drive Debian's `chromium`, the Chinese screenshots need a CJK font (`fonts-wqy-microhei`), and the
tests that run on PostgreSQL start a server of their own from Debian's `postgresql` (its binaries, no service).
Each package is detected (a command on PATH, or dpkg's status); the missing ones are installed with
``apt-get update`` and ``apt-get install -y -q`` when we run as root, and checked again. As any other user the
script prints one line naming the command to run, and exits 1, so `make test` stops before a browser test fails
halfway. `make run` needs no system package today (the app is pure Python), so it does not call this script.

What it sees is its environment: ``PATH`` (where `chromium`, `dpkg-query` and `apt-get` are looked up) and
``VISIONARY_SETUP_AS_ROOT`` (``1``/``0``; by default whether the effective user id is 0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class SystemPackage:
    name: str
    command: str | None = None  # present when this command is on PATH; else asked of dpkg

    def is_installed(self, path: str) -> bool:
        if self.command:
            return shutil.which(self.command, path=path) is not None
        dpkg_query = shutil.which("dpkg-query", path=path)
        if dpkg_query is None:
            return False
        status = subprocess.run([dpkg_query, "-W", "-f=${db:Status-Status}", self.name],
                                capture_output=True, text=True, check=False)
        return status.returncode == 0 and status.stdout.strip() == "installed"


TEST_PACKAGES = (SystemPackage("chromium", command="chromium"), SystemPackage("fonts-wqy-microhei"),
                 SystemPackage("postgresql"))


def missing(packages: tuple[SystemPackage, ...], path: str) -> list[str]:
    return [package.name for package in packages if not package.is_installed(path)]


def runs_as_root(environ: Mapping[str, str]) -> bool:
    override = environ.get("VISIONARY_SETUP_AS_ROOT")
    return override == "1" if override in ("0", "1") else os.geteuid() == 0


def apt_get_install(names: list[str], environ: Mapping[str, str]) -> str | None:
    """None once apt-get has installed ``names``; else why not, in one line."""
    apt_get = shutil.which("apt-get", path=environ.get("PATH", os.defpath))
    if apt_get is None:
        return f"missing system packages: {' '.join(names)} — and no apt-get on PATH to install them"
    env = {**environ, "DEBIAN_FRONTEND": "noninteractive"}
    for arguments in (["update", "-q"], ["install", "-y", "-q", *names]):
        status = subprocess.run([apt_get, *arguments], env=env, check=False).returncode
        if status != 0:
            return f"apt-get {' '.join(arguments)} failed (exit status {status})"
    return None


def ensure(packages: tuple[SystemPackage, ...], environ: Mapping[str, str]) -> int:
    """0 when every package is there (after installing the missing ones as root), else 1 with one line."""
    path = environ.get("PATH", os.defpath)
    names = missing(packages, path)
    if not names:
        return 0
    if not runs_as_root(environ):
        print(f"missing system packages: {' '.join(names)} — run: sudo apt-get install -y {' '.join(names)}",
              file=sys.stderr)
        return 1
    failure = apt_get_install(names, environ)
    still_missing = missing(packages, path) if failure is None else names
    if still_missing:
        print(failure or f"still missing after apt-get install: {' '.join(still_missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(ensure(TEST_PACKAGES, os.environ))
