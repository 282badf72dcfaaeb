"""Open the HTML report in headless Chromium: screenshot it and check it renders.

Checks what a reader would notice first: every image loaded (decoded, non-zero size), every
interactive chart drawn, every in-page link landing on its target, and nothing wider than the
window (no horizontal scrolling of the page; wide tables scroll inside their own box), and every
key finding's answer and status inside the window, never in a box that scrolls sideways, on a
desktop (1,280 px) and on a phone (390 px) window, in light and dark mode. Uses Playwright driving the system's
Chromium (Debian: ``chromium``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class BrowserCheck:
    images: int
    broken_images: list[str]
    page_width: int
    window_width: int
    overflowing: list[str]  # elements reaching past the window's right edge (outside scroll boxes)
    background: str = ""  # the page's computed background colour (dark mode: rgb(18, 18, 18))
    charts: int = 0  # interactive charts drawn (an SVG with marks inside their box)
    broken_charts: list[str] = field(default_factory=list)  # id and error of each chart that did not draw
    broken_links: list[str] = field(default_factory=list)  # in-page links (#anchor) whose target is missing
    findings: int = 0  # key-finding cards on the page
    hidden_findings: list[str] = field(default_factory=list)  # cards whose answer or status a reader must scroll to

    @property
    def ok(self) -> bool:
        return (
            not self.broken_images
            and not self.broken_charts
            and not self.broken_links
            and not self.hidden_findings
            and not self.overflowing
            and self.page_width <= self.window_width
        )


DARK_BACKGROUND = "rgb(18, 18, 18)"  # body background of report.html under prefers-color-scheme: dark
WIDTHS = (1280, 390)  # a laptop window and a phone (iPhone 12-15 CSS width)


def screenshot_path(base: Path, width: int) -> Path:
    """``docs/report_screenshot.png`` for the first width, ``..._390.png`` for the others."""
    return base if width == WIDTHS[0] else base.with_name(f"{base.stem}_{width}{base.suffix}")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p); if (s.overflowX === 'auto' || s.overflowX === 'scroll') return true; }
    return false; };
  return [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !scrolls(el))
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
}"""
IMAGES_JS = """() => [...document.images]
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => img.alt || img.src.slice(0, 40))"""

CHARTS_SETTLED_JS = """() => [...document.querySelectorAll('figure.chart')]
  .every(fig => fig.dataset.rendered || fig.dataset.error)"""
CHARTS_JS = """() => [...document.querySelectorAll('figure.chart')].map(fig => ({
  id: fig.id, error: fig.dataset.error || '',
  drawn: fig.dataset.rendered === '1' && fig.querySelectorAll('svg path, svg line, svg circle').length > 0}))"""
LINKS_JS = """() => [...document.querySelectorAll('a[href^="#"]')]
  .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
  .filter(id => id && !document.getElementById(id))"""


# A finding's answer and status must lie inside the window and outside any sideways-scrolling box: a phone
# reader sees them without swiping (a table row of seven columns would hide the status off-screen).
FINDINGS_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p); if (s.overflowX === 'auto' || s.overflowX === 'scroll') return true; }
    return false; };
  const inside = el => { const r = el && el.getBoundingClientRect();
    return r && r.width > 0 && r.left >= -1 && r.right <= width + 1 && !scrolls(el); };
  const cards = [...document.querySelectorAll('li.finding')];
  return {count: cards.length, hidden: cards
    .filter(c => !(inside(c.querySelector('.answer')) && inside(c.querySelector('span.status'))))
    .map(c => c.id)};
}"""


def check_report(
    html: Path, screenshot: Path, width: int = 1280, height: int = 900, color_scheme: str = "light"
) -> BrowserCheck:
    """Render ``html`` (``color_scheme`` "light" or "dark"), save a full-page PNG and return what was found."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found (Debian: apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=color_scheme)
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.wait_for_function(CHARTS_SETTLED_JS, timeout=30_000)
        charts = page.evaluate(CHARTS_JS)
        findings = page.evaluate(FINDINGS_JS)
        result = BrowserCheck(
            images=page.evaluate("() => document.images.length"),
            broken_images=page.evaluate(IMAGES_JS),
            page_width=page.evaluate("() => document.documentElement.scrollWidth"),
            window_width=page.evaluate("() => document.documentElement.clientWidth"),
            overflowing=page.evaluate(OVERFLOW_JS),
            background=page.evaluate("() => getComputedStyle(document.body).backgroundColor"),
            charts=sum(c["drawn"] for c in charts),
            broken_charts=[f"{c['id']}: {c['error'] or 'nothing drawn'}" for c in charts if not c["drawn"]],
            broken_links=sorted(set(page.evaluate(LINKS_JS))),
            findings=findings["count"],
            hidden_findings=findings["hidden"],
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return result
