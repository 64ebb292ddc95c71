"""tools/audit.py: the dependency audit fails on a known vulnerability with a fixed release, and only then."""

from __future__ import annotations

from tools.audit import summary


def report(*vulns: dict, skipped: bool = False) -> dict:
    deps = [{"name": "requests", "version": "2.0.0", "vulns": list(vulns)}]
    if skipped:
        deps.append({"name": "torch", "skip_reason": "Dependency not found on PyPI and could not be audited: "
                                                     "torch (2.13.0+cpu)"})
    return {"dependencies": deps, "fixes": []}


def test_a_vulnerability_with_a_fix_fails_the_audit():
    status, lines = summary(report({"id": "GHSA-1", "fix_versions": ["2.31.0"], "aliases": ["CVE-1"]}))
    assert status == 1
    assert "FIXABLE  requests 2.0.0: GHSA-1 / CVE-1 (fixed in 2.31.0)" in lines


def test_unfixed_vulnerabilities_and_unknown_packages_only_warn():
    status, lines = summary(report({"id": "GHSA-2", "fix_versions": []}, skipped=True))
    assert status == 0
    assert "warning  requests 2.0.0: GHSA-2 (no fixed release yet)" in lines
    assert lines[-1].endswith("torch (2.13.0+cpu)")
    assert lines[0].startswith("pip-audit: 1 packages audited, 1 could not be looked up, 1 known")
