"""axe-core (the npm package, pinned in ``package.json``) for the browser tests: injected into a
page that Playwright shows in Chromium, it checks the page against WCAG 2.1 A and AA.

A finding is a violation of a WCAG 2.1 A or AA rule of impact serious or critical, or of any impact
for the few structure rules of ``STRUCTURE`` (axe's best practices for headings, landmarks and
table headers, which the pages keep too), or a field edge or focus ring under 3:1 (``NON_TEXT``).

``npm ci`` runs here when ``node_modules/axe-core`` is missing (``.ci/run`` runs it too). Without
node the tests fail and say so: CI installs ``nodejs npm``. The pages set a Content-Security-Policy
(``script-src 'self'``) that refuses an injected script, so the pages checked are opened with
``bypass_csp=True``.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
STRUCTURE = ("heading-order", "empty-table-header", "page-has-heading-one", "landmark-one-main", "region")
RUN = """([tags, structure]) => axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
    rules: Object.fromEntries(structure.map(id => [id, {enabled: true}]))})
  .then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({impact: n.impact, target: n.target.join(' '), html: n.html.slice(0, 160)}))})))"""

# WCAG 2.1 1.4.11, which axe does not measure: the edges of the fields and the focus ring of the
# first link, button and field of the page's main part, at 3:1 against what is behind them.
NON_TEXT = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const opaque = c => c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent' && rgb(c).length >= 3;
  const behind = el => { for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor; if (opaque(c) && (rgb(c)[3] ?? 1) === 1) return c; } return 'rgb(255, 255, 255)'; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).split(' ')[0] : '');
  const found = [];
  const fields = 'input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=file]), select, textarea';
  for (const el of document.querySelectorAll('main ' + fields)) {
    if (!el.offsetParent) continue;
    const r = ratio(getComputedStyle(el).borderTopColor, behind(el));
    if (r < 3) found.push({target: name(el), what: 'field border', ratio: r});
  }
  for (const sel of ['main a[href]', 'main button', 'main ' + fields.split(', ')[0]]) {
    const el = [...document.querySelectorAll(sel)].find(e => e.offsetParent);
    if (!el) continue;
    el.focus();
    const style = getComputedStyle(el), bg = behind(el);
    const rings = [style.outlineStyle !== 'none' ? style.outlineColor : null,
                   style.boxShadow !== 'none' ? style.boxShadow.match(/rgba?\\([^)]*\\)/)[0] : null].filter(Boolean);
    const best = Math.max(0, ...rings.map(c => ratio(c, bg)));
    if (best < 3) found.push({target: name(el), what: 'focus ring', ratio: best});
    el.blur();
  }
  return found;
}"""


def install() -> Path:
    """The path of ``axe.min.js``, after ``npm ci`` when it is not there yet."""
    if not AXE.is_file():
        if shutil.which("node") is None or shutil.which("npm") is None:
            pytest.fail("The accessibility check injects axe-core, an npm package, and Node.js is not installed: "
                        "apt-get install nodejs npm (.ci/run does).")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=600)
    return AXE


@pytest.fixture(scope="session")
def axe_script() -> Path:
    return install()


@dataclass
class Finding:
    url: str
    rule: str
    impact: str
    help: str
    target: str
    html: str

    def __str__(self) -> str:
        return f"{self.url}  [{self.impact}] {self.rule} ({self.help}): {self.target}  {self.html}"


@dataclass
class Audit:
    """The findings on every page checked, and what was checked."""

    script: Path
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def check(self, page, label: str = "") -> list[Finding]:
        """Run axe on the page as it stands; keep and return its findings."""
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(path=str(self.script))
        where = f"{page.url} {label}".rstrip()
        found = []
        for violation in page.evaluate(RUN, [TAGS, list(STRUCTURE)]):
            for node in violation["nodes"]:
                impact = node["impact"] or violation["impact"]
                if impact in BLOCKING or violation["id"] in STRUCTURE:
                    found.append(Finding(where, violation["id"], impact, violation["help"], node["target"],
                                         node["html"]))
        self.findings.extend(found)
        self.checked.append(where)
        return found + self.check_non_text(page, label)

    def check_non_text(self, page, label: str = "") -> list[Finding]:
        """The page's field edges and focus rings against what is behind them (``NON_TEXT``)."""
        where = f"{page.url} {label}".rstrip()
        found = [Finding(where, "non-text-contrast", "serious", f"{f['what']} at {f['ratio']:.2f}:1, under 3:1",
                         f["target"], "") for f in page.evaluate(NON_TEXT)]
        self.findings.extend(found)
        return found

    def report(self) -> str:
        return f"{len(self.findings)} findings on {len(self.checked)} pages checked:\n" + "\n".join(
            str(f) for f in self.findings)
