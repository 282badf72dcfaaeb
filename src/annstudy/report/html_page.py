"""report.html: the document's blocks as one self-contained HTML page.

Self-contained so it can be mailed or opened offline as one file: the CSS inline, figures
embedded as base64 PNGs (palette-compacted), the vendored Vega / Vega-Lite inlined only when
the page has an interactive chart. Figures and tables are numbered, every heading gets a unique
anchor and a floating contents button lists them. (Named html_page, not html, so the module
never shadows the standard library's ``html`` it uses.)
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from importlib.resources import files
from pathlib import Path

from annstudy.report.document import (
    Bullets,
    Callout,
    Chart,
    Contents,
    Details,
    Document,
    Figure,
    Findings,
    Heading,
    Paragraph,
    Table,
    contents_headings,
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1400px;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.5}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #ccc;margin-top:2.2rem}
.table-wrap{overflow-x:auto;max-width:100%;margin:0 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;white-space:nowrap}td.num{text-align:right;white-space:nowrap}
figure{margin:1.2rem 0;text-align:center}img{max-width:100%;height:auto}
figure.chart .vega{width:100%;min-height:300px;text-align:left}
figcaption,.caption{font-size:.9rem;color:#555;text-align:left;margin-bottom:.3rem}
@media (max-width:600px){td:not(.num){min-width:8rem}}
code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}p,li{overflow-wrap:break-word}
nav ul{columns:2}
.banner{border-left:4px solid #b35900;background:#fff4e5;padding:.6rem 1rem;margin:1rem 0}
details{margin:1rem 0}summary{cursor:pointer;font-weight:600}
details.toc{position:fixed;top:.5rem;right:.5rem;margin:0;z-index:5;background:#fff;border:1px solid #ccc;
border-radius:4px;padding:.3rem .7rem;max-width:min(22rem,calc(100vw - 1rem));max-height:calc(100vh - 1rem);
overflow:auto;font-size:.9rem}details.toc ul{padding-left:1.1rem;margin:.3rem 0}
details.toc:not([open]){opacity:.92}
a.anchor{color:inherit;text-decoration:none;font-weight:600}
img{cursor:zoom-in}img.zoom{position:fixed;inset:0;margin:auto;max-width:98vw;max-height:98vh;z-index:10;
cursor:zoom-out;background:#fff;box-shadow:0 0 0 100vmax rgba(0,0,0,.6)}
ol.findings{list-style:none;padding:0;margin:0 0 1rem;display:grid;gap:.6rem;
grid-template-columns:repeat(auto-fill,minmax(min(100%,24rem),1fr))}
li.finding{border:1px solid #ccc;border-left:6px solid var(--status);border-radius:4px;padding:.45rem .7rem;
min-width:0;overflow-wrap:anywhere}
li.finding p{margin:.15rem 0}.finding .question{font-size:.85rem;color:#555}.finding .answer{font-weight:500}
.finding .meta{font-size:.85rem}.finding .key{font-variant-numeric:tabular-nums}
span.status{display:inline-block;padding:0 .45rem;border-radius:3px;font-weight:600;white-space:nowrap;
color:#fff;background:var(--status)}
.status-supported{--status:#1b7837}.status-equivalent{--status:#2166ac}.status-inconclusive{--status:#8a6d00}
.status-confounded{--status:#b35806}.status-did-not-train{--status:#b2182b}
@media (prefers-color-scheme:dark){body{background:#121212;color:#ddd}h1{border-color:#aaa}h2{border-color:#444}
th{background:#2a2a2a}th,td{border-color:#444}code{background:#2a2a2a}figcaption,.caption{color:#aaa}
.banner{background:#3a2a10;border-color:#e08a2c}details.toc{background:#1e1e1e;border-color:#444}a{color:#8ab4f8}
img{background:#fff;padding:.3rem;border-radius:4px;box-sizing:border-box}li.finding{border-color:#444;border-left-color:var(--status)}
.finding .question{color:#aaa}span.status{color:#111}
.status-supported{--status:#7fd08a}.status-equivalent{--status:#8ab4f8}.status-inconclusive{--status:#e6c84f}
.status-confounded{--status:#f4a259}.status-did-not-train{--status:#f28b82}}
"""

# click to enlarge, without a second copy of the image: toggles a class on the clicked figure
ZOOM_JS = (
    "document.addEventListener('click',e=>{if(e.target.tagName==='IMG')e.target.classList.toggle('zoom');"
    "if(e.target.closest('details.toc a'))e.target.closest('details.toc').open=false});"
)


def compact_png(data: bytes) -> bytes:
    """A 256-colour palette copy of a PNG for embedding (plots have few colours; about a third of the
    bytes), or the original when that is not smaller. report.md keeps linking the full-colour files."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def _inline_md_to_html(text: str) -> str:
    """The Markdown a block's text may hold (**bold**, *italic*, `code`) as HTML, the rest escaped."""
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


_NUMERIC = re.compile(r"^[\s*+\-−—±.,\d%\[\]()e]+$")


def _td(text: str) -> str:
    """A table cell; numbers are right-aligned and kept on one line."""
    cls = ' class="num"' if _NUMERIC.match(text) else ""
    return f"<td{cls}>{_inline_md_to_html(text)}</td>"


def status_class(status: str) -> str:
    """``did not train`` -> ``status-did-not-train``: the CSS class that colours a status."""
    return "status-" + re.sub(r"[^a-z0-9]+", "-", status.lower()).strip("-")


def _findings_html(b: Findings, counter: list[int]) -> str:
    """One card per finding (an ordered list): question and study link, the answer, key number, n, budget, status."""
    counter[1] += 1
    n = counter[1]
    cards = []
    for i, c in enumerate(b.cards, 1):
        study = f'<a href="{html.escape(c.href)}">{html.escape(c.study)}</a>' if c.href else html.escape(c.study)
        cls = status_class(c.status)
        cards.append(
            f'<li class="finding {cls}" id="finding-{i}"><p class="question">{study} · {html.escape(c.question)}</p>'
            f'<p class="answer">{_inline_md_to_html(c.answer)}</p>'
            f'<p class="meta"><span class="status {cls}">{html.escape(c.status)}</span> '
            f'<span class="key">{_inline_md_to_html(c.key)}</span> · n&nbsp;=&nbsp;{html.escape(c.n)} · '
            f"{html.escape(c.budget)}</p></li>"
        )
    label = f'<a class="anchor" href="#table-{n}">Table {n}.</a> '
    cap = f'<p class="caption" id="table-{n}">{label}{_inline_md_to_html(b.caption)}</p>'
    return f'<ol class="findings">{"".join(cards)}</ol>{cap}'


def _all_headings(blocks: list) -> list[Heading]:
    """Every heading in page order, those inside a :class:`Details` included."""
    found = []
    for b in blocks:
        if isinstance(b, Heading):
            found.append(b)
        elif isinstance(b, Details):
            found += _all_headings(b.blocks)
    return found


def _number_anchors(headings: list[Heading]) -> None:
    """Make every anchor unique (``worked-checks``, ``worked-checks-2``...): each study has its own
    "Is A better than B?", and a link must land on the one it names."""
    seen: dict[str, int] = {}
    for h in headings:
        base = h.anchor
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            h.id = f"{base}-{seen[base]}"


def _toc(headings: list[Heading]) -> str:
    """The contents that stay on screen: a fixed button opening sections and their subsections."""
    items, open_sub = [], False
    for h in headings:
        if h.level == 2:
            items.append(("</ul></li>" if open_sub else "</li>") if items else "")
            items.append(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a>')
            open_sub = False
        elif h.level == 3 and items:
            items.append("" if open_sub else "<ul>")
            items.append(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>')
            open_sub = True
    if not items:
        return ""
    items.append("</ul></li>" if open_sub else "</li>")
    return f'<details class="toc"><summary>Contents</summary><ul>{"".join(items)}</ul></details>'


def _html_blocks(blocks: list, base: Path, contents: list[Heading], counter: list[int] | None = None) -> list[str]:
    """The HTML of ``blocks``; ``counter`` holds the figures and tables numbered so far, shared with nested
    :class:`Details` so numbering runs through the whole page."""
    counter = counter if counter is not None else [0, 0]  # figures and tables numbered so far
    body = []
    for b in blocks:
        if isinstance(b, Contents):
            if contents:
                items = "".join(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>' for h in contents)
                body.append(f"<nav><strong>Contents</strong><ul>{items}</ul></nav>")
        elif isinstance(b, Callout):
            body.append(f'<div class="banner" role="note"><strong>Note.</strong> {_inline_md_to_html(b.text)}</div>')
        elif isinstance(b, Findings):
            body.append(_findings_html(b, counter))
        elif isinstance(b, Details):
            inner = "\n".join(_html_blocks(b.blocks, base, contents, counter))
            body.append(f"<details><summary>{html.escape(b.summary)}</summary>\n{inner}\n</details>")
        elif isinstance(b, Heading):
            body.append(f'<h{b.level} id="{b.anchor}">{html.escape(b.text)}</h{b.level}>')
        elif isinstance(b, Paragraph):
            body.append(f"<p>{_inline_md_to_html(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{_inline_md_to_html(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            counter[1] += 1
            body.append(_table_html(b, counter[1]))
        elif isinstance(b, Figure):
            counter[0] += 1
            body.append(_figure_html(b, base, counter[0]))
        elif isinstance(b, Chart):
            counter[0] += 1
            body.append(_chart_html(b, counter[0]))
    return body


def _table_html(b: Table, n: int) -> str:
    """Table ``n``: its caption stays outside the scroll box, so on a phone it wraps to the screen, not the table."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
    rows = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in b.rows)
    label = f'<a class="anchor" href="#table-{n}">Table {n}.</a> '
    cap = f'<p class="caption" id="table-{n}">{label}{_inline_md_to_html(b.caption)}</p>'
    return f'{cap}<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _figure_html(b: Figure, base: Path, n: int) -> str:
    """Figure ``n``: the PNG under ``base`` embedded as a data URI, so the page needs no other file."""
    data = base64.b64encode(compact_png((base / b.path).read_bytes())).decode("ascii")
    alt = html.escape(b.caption, quote=True)
    return (
        f'<figure id="figure-{n}"><img src="data:image/png;base64,{data}" alt="{alt}" title="click to enlarge">'
        f'<figcaption><a class="anchor" href="#figure-{n}">Figure {n}.</a> {html.escape(b.caption)}'
        "</figcaption></figure>"
    )


def _chart_html(chart: Chart, n: int) -> str:
    """A figure whose spec travels as JSON beside an empty container; :data:`CHARTS_JS` draws it."""
    spec = json.dumps(chart.spec, separators=(",", ":")).replace("</", "<\\/")
    alt = html.escape(chart.caption, quote=True)
    return (
        f'<figure id="figure-{n}" class="chart"><div class="vega" role="img" aria-label="{alt}"></div>'
        f'<script type="application/json" class="vega-spec">{spec}</script>'
        f'<figcaption><a class="anchor" href="#figure-{n}">Figure {n}.</a> {html.escape(chart.caption)} '
        "<em>Interactive: hover for values; click a legend entry to keep it (shift-click for more).</em>"
        "</figcaption></figure>"
    )


# Compile every chart's Vega-Lite spec and render it as SVG; dark mode gets light ink. A chart that
# fails says so in place (and in data-error, which the browser check reads) instead of vanishing.
CHARTS_JS = """
(() => {
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const ink = {labelColor: '#ddd', titleColor: '#ddd', gridColor: '#333', domainColor: '#888', tickColor: '#888'};
  const config = dark ? {background: '#121212', axis: ink, legend: {labelColor: '#ddd', titleColor: '#ddd'},
                         title: {color: '#ddd'}, view: {stroke: '#444'}} : {};
  document.querySelectorAll('figure.chart').forEach(fig => {
    const box = fig.querySelector('.vega');
    try {
      const spec = JSON.parse(fig.querySelector('script.vega-spec').textContent);
      const compiled = vegaLite.compile({...spec, config}).spec;
      new vega.View(vega.parse(compiled), {renderer: 'svg', container: box, hover: true})
        .runAsync().then(() => { fig.dataset.rendered = '1'; })
        .catch(e => { fig.dataset.error = String(e); box.textContent = 'chart failed: ' + e; });
    } catch (e) { fig.dataset.error = String(e); box.textContent = 'chart failed: ' + e; }
  });
})();
"""


def _chart_scripts(body: list[str]) -> str:
    """The vendored Vega and Vega-Lite (about 770 kB) and :data:`CHARTS_JS`, only on a page with a chart."""
    if not any('class="chart"' in part for part in body):
        return ""
    assets = files("annstudy.report") / "assets"
    libraries = [(assets / name).read_text(encoding="utf-8") for name in ("vega.min.js", "vega-lite.min.js")]
    return "".join(f"<script>{code}</script>\n" for code in [*libraries, CHARTS_JS])


def to_html(doc: Document, base: Path) -> str:
    """Self-contained HTML: figures under ``base`` are embedded as data URIs."""
    headings = _all_headings(doc.blocks)
    _number_anchors(headings)
    body = [
        _toc(headings),
        f"<h1>{html.escape(doc.title)}</h1>",
        *_html_blocks(doc.blocks, base, contents_headings(doc.blocks)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{ZOOM_JS}</script>\n"
        + _chart_scripts(body)
        + "</body></html>\n"
    )
