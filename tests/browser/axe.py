"""axe-core's accessibility checks on a page open in the browser, against WCAG 2.x levels A and AA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"

# Every WCAG 2.x success criterion at A and AA that axe knows; its best-practice rules are advice, not the standard.
WCAG_A_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """The page's WCAG A/AA violations of those impacts, as axe reports them (id, impact, help, nodes, ...)."""
    if not AXE_SCRIPT.is_file():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run ./deploy/setup.sh (it runs npm ci in services/web)")
    page.add_script_tag(path=str(AXE_SCRIPT))
    violations: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations", list(WCAG_A_AA)
    )
    return [v for v in violations if v.get("impact") in impacts]


def summary(violations: list[dict[str, Any]]) -> str:
    """One line per violation, for an assertion's message."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in violations)
