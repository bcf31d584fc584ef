"""axe-core in a real page: the accessibility bar of issue #16 (no serious or critical violation
of WCAG 2.1 A/AA or axe's best practices). axe-core comes from npm (pwa/package.json, a dev
dependency pinned exactly) and is read from pwa/node_modules: it is never served to users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.support.browser import ARTIFACTS

AXE = Path(__file__).resolve().parents[2] / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}

# add_script_tag(path=...) inlines the file as a <script>, which the app's CSP refuses: the
# caller's browser context is made with `bypass_csp=True`.
RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
    return {
        url: result.url, timestamp: result.timestamp, testEngine: result.testEngine,
        violations: result.violations, incomplete: result.incomplete,
        passes: result.passes.map(r => ({id: r.id, nodes: r.nodes.length})),
    };
}"""


def assert_accessible(page: Page, *, name: str) -> dict[str, Any]:
    """Run axe on the page as it is now; fail on every serious or critical violation. The full
    result is written to tests/.artifacts/axe-<name>.json."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: scripts/bootstrap installs pwa's npm packages")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(RUN, TAGS)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    lines = [
        f"{v['impact']} {v['id']}: {v['help']} — "
        + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
        + (f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else "")
        for v in blocking
    ]
    assert not blocking, f"axe on {name} ({page.url}):\n" + "\n".join(lines)
    return result
