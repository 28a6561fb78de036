"""The Content-Security-Policy holds on every page of every role: Chromium reports no
`securitypolicyviolation` (an inline script, a style from elsewhere, a framed page...)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page

from tests.e2e.walk import walk_every_page

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before any script of the page: it records what the browser refused.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


class CspWatch:
    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.visited: list[str] = []
        self.found: dict[str, list[str]] = {}
        self.missing_header: list[str] = []

    def check(self, label: str, path: str | None = None, *, expect: int = 200) -> None:
        if path is not None:
            response = self.page.goto(f"{self.base}{path}")
            assert response is not None and response.status == expect, (label, path)
            if "content-security-policy" not in response.headers:
                self.missing_header.append(label)
        self.page.wait_for_load_state("networkidle")
        self.visited.append(label)
        violations = self.page.evaluate("() => window.__cspViolations || []")
        if violations:
            self.found[label] = violations


def test_no_page_of_any_role_breaks_the_content_security_policy(
    page: Page, live_server: Any, make_user: Callable[..., User]
) -> None:
    page.add_init_script(LISTEN)
    watch = CspWatch(page, live_server.url)
    walk_every_page(page, live_server, make_user, watch.check)
    assert len(watch.visited) > 30
    assert not watch.missing_header, watch.missing_header
    assert not watch.found, "\n".join(f"{k}: {v}" for k, v in watch.found.items())


def test_the_api_docs_page_runs_under_the_policy(
    page: Page, live_server: Any, login: Callable[[str], Page]
) -> None:
    page.add_init_script(LISTEN)
    login("nurse")
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    assert page.evaluate("() => window.__cspViolations") == []
