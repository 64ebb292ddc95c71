"""`make test`'s setup step (tools/system_packages.py) on a machine without Chromium, the CJK font or PostgreSQL:
as root it installs them with apt-get; as another user it stops at once with the one line naming the command to run."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "system_packages.py"
MISSING_LINE = ("missing system packages: chromium fonts-wqy-microhei postgresql — "
                "run: sudo apt-get install -y chromium fonts-wqy-microhei postgresql")


def executable(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def fake_apt_get(bin_dir: Path, log: Path) -> None:
    """An apt-get that records its arguments and, on install, leaves what Debian's packages would."""
    executable(bin_dir / "apt-get", f"""PATH=/usr/bin:/bin
echo "$DEBIAN_FRONTEND $*" >> {log}
if [ "$1" = install ]; then
  printf '#!/bin/sh\\n' > {bin_dir}/chromium
  printf '#!/bin/sh\\nprintf installed\\n' > {bin_dir}/dpkg-query
  chmod +x {bin_dir}/chromium {bin_dir}/dpkg-query
fi
""")


def setup_step(bin_dir: Path, as_root: bool) -> subprocess.CompletedProcess:
    env = {"PATH": str(bin_dir), "VISIONARY_SETUP_AS_ROOT": "1" if as_root else "0"}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_as_root_it_installs_the_missing_packages_with_apt_get(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt-get.log"
    bin_dir.mkdir()
    fake_apt_get(bin_dir, log)

    result = setup_step(bin_dir, as_root=True)

    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["noninteractive update -q",
                                            "noninteractive install -y -q chromium fonts-wqy-microhei postgresql"]
    assert setup_step(bin_dir, as_root=True).returncode == 0
    assert len(log.read_text().splitlines()) == 2  # installed now: apt-get is not called again


def test_as_root_only_the_missing_package_is_installed(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt-get.log"
    bin_dir.mkdir()
    executable(bin_dir / "chromium", "")
    executable(bin_dir / "dpkg-query", 'if [ "$3" = postgresql ]; then printf installed; fi\n')
    fake_apt_get(bin_dir, log)

    assert setup_step(bin_dir, as_root=True).returncode == 0
    assert log.read_text().splitlines()[-1] == "noninteractive install -y -q fonts-wqy-microhei"


def test_as_another_user_it_stops_with_one_line_naming_the_command(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt-get.log"
    bin_dir.mkdir()
    fake_apt_get(bin_dir, log)

    result = setup_step(bin_dir, as_root=False)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [MISSING_LINE]
    assert not log.exists()


def test_nothing_to_do_when_everything_is_there(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "chromium", "")
    executable(bin_dir / "dpkg-query", "printf installed\n")

    result = setup_step(bin_dir, as_root=False)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_failing_apt_get_is_one_line_not_a_traceback(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "apt-get", "exit 100\n")

    result = setup_step(bin_dir, as_root=True)

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["apt-get update -q failed (exit status 100)"]
