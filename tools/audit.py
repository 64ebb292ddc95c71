"""Dependency audit: ``pip-audit -s pypi`` over this Python environment; fails on a vulnerability that has a fix.

    .venv/bin/python tools/audit.py

pip-audit itself fails on any known vulnerability, fixable or not; this runs it with ``--format json`` and
decides: exit 1 when some installed package has a known vulnerability with a fixed release (upgrade it: bump
its pin), 0 otherwise. Vulnerabilities without a fix, and packages the vulnerability service could not look up,
are listed as warnings. A failure of pip-audit itself (no network, a broken environment) is an exit 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

COMMAND = [sys.executable, "-m", "pip_audit", "-s", "pypi", "--skip-editable", "--progress-spinner", "off",
           "--format", "json", "--aliases"]


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerability: str
    fixed_in: tuple[str, ...]

    def line(self) -> str:
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release yet"
        return f"{self.package} {self.version}: {self.vulnerability} ({fix})"


def findings(report: dict) -> list[Finding]:
    return [Finding(dep["name"], dep["version"], " / ".join([vuln["id"], *vuln.get("aliases", [])]),
                    tuple(vuln.get("fix_versions", [])))
            for dep in report["dependencies"] for vuln in dep.get("vulns", [])]


def skipped(report: dict) -> list[str]:
    """``name (version)`` of each package the service could not look up (pip-audit words it so)."""
    return [dep["skip_reason"].rpartition(": ")[2] for dep in report["dependencies"] if dep.get("skip_reason")]


def summary(report: dict) -> tuple[int, list[str]]:
    """The exit status and the lines to print."""
    found = findings(report)
    fixable = [f for f in found if f.fixed_in]
    not_looked_up = skipped(report)
    audited = len(report["dependencies"]) - len(not_looked_up)
    lines = [f"pip-audit: {audited} packages audited, {len(not_looked_up)} could not be looked up, "
             f"{len(found)} known vulnerabilities ({len(fixable)} with a fixed release)"]
    lines += [f"FIXABLE  {f.line()}" for f in fixable]
    lines += [f"warning  {f.line()}" for f in found if not f.fixed_in]
    if not_looked_up:
        lines.append(f"warning  not audited (unknown to the vulnerability service): {', '.join(not_looked_up)}")
    return (1 if fixable else 0), lines


def main() -> int:
    done = subprocess.run(COMMAND, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        print(f"pip-audit failed (exit {done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        return 2
    status, lines = summary(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
