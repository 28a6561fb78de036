"""axe-core (from npm) in Chromium: every page of every role, on the demo data, has no
violation of impact "serious" or "critical".

Each role signs in through the login page and opens each of its pages: the lists, every
patient's page, the forms (empty and refused), the nurse's infusion page in each state, the
notifications, and the styled error pages. The failure names each violation with its rule id,
its help text and the elements (nodes) it was found on.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from tests.e2e.walk import walk_every_page

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").join(" "))
  }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical violations of the page as it stands now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]


class Audit:
    """Runs axe on pages and keeps every serious or critical violation, page by page."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.found: dict[str, list[dict[str, Any]]] = {}
        self.visited: list[str] = []

    def check(self, label: str, path: str | None = None, *, expect: int = 200) -> None:
        if path is not None:
            response = self.page.goto(f"{self.base}{path}")
            assert response is not None and response.status == expect, (label, path)
        self.page.wait_for_load_state("networkidle")
        self.visited.append(label)
        violations = axe_violations(self.page)
        if violations:
            self.found[label] = violations

    def report(self) -> str:
        lines = []
        for label, violations in self.found.items():
            for v in violations:
                lines.append(f"{label}: [{v['impact']}] {v['id']}: {v['help']}")
                lines.extend(f"    {node}" for node in v["nodes"][:5])
        return "\n".join(lines)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """axe is injected as a script of its own: this one browser context lets it past the
    Content-Security-Policy (tests/e2e/test_content_security.py checks the policy itself)."""
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, locale="en-GB", bypass_csp=True
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def test_no_serious_or_critical_violation_on_any_page_of_any_role(
    page: Page, live_server: Any, make_user: Callable[..., User]
) -> None:
    audit = Audit(page, live_server.url)
    walk_every_page(page, live_server, make_user, audit.check)
    assert len(audit.visited) > 30
    assert not audit.found, "axe found serious or critical violations:\n" + audit.report()
