"""Where Chromium or Playwright is missing, the browser tests are skipped with the reason, except under CI."""

import pytest

from tests.browser import conftest


def test_a_missing_browser_skips_with_its_reason_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        conftest.unavailable("Chromium is not installed")


def test_a_missing_browser_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed .*CI=true"):
        conftest.unavailable("Chromium is not installed")


def test_a_configured_chromium_that_does_not_exist_counts_as_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("TFCOURSE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert conftest.find_chromium() is None
    browser = tmp_path / "chromium"
    browser.write_text("")
    monkeypatch.setenv("TFCOURSE_CHROMIUM", str(browser))
    assert conftest.find_chromium() == str(browser)
