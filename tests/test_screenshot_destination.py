"""Running the tests leaves the README's screenshots alone; `make screenshots` refreshes them on purpose."""

from __future__ import annotations

import subprocess

from tests.browser import ARTIFACTS, README_SCREENSHOTS_ENV, ROOT, readme_screenshot_dir


def test_a_test_run_writes_its_screenshots_to_an_ignored_folder():
    destination = readme_screenshot_dir({})
    assert destination == ARTIFACTS / "screenshots"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(destination / "home.png")], cwd=ROOT, check=False)
    assert ignored.returncode == 0


def test_make_screenshots_writes_the_readmes_images():
    assert readme_screenshot_dir({README_SCREENSHOTS_ENV: "1"}) == ROOT / "docs" / "images"
    assert readme_screenshot_dir({README_SCREENSHOTS_ENV: "0"}) == ARTIFACTS / "screenshots"


def test_make_screenshots_sets_the_variable_and_runs_the_screenshot_tests():
    recipe = subprocess.run(["make", "-n", "screenshots"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert f"{README_SCREENSHOTS_ENV}=1" in recipe.stdout
    assert "tests/test_newcomer_journey.py" in recipe.stdout
