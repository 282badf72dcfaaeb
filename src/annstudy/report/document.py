"""A tiny document model rendered to both Markdown and self-contained HTML.

The report is written once as a list of blocks; the two renderers keep report.md and
report.html saying exactly the same thing. Figures are PNG files: linked from the
Markdown, embedded as base64 data URIs in the HTML so it can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 2

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclass
class Paragraph:
    text: str  # may contain **bold** and `code`


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path  # relative to the report directory
    caption: str


@dataclass
class Contents:
    """Where the list of sections goes (after the findings, so they come first on the page)."""


@dataclass
class Callout:
    """A banner the reader must not miss (a profile too small for the study's conclusions)."""

    text: str


@dataclass
class Details:
    """Blocks a reader opens on demand: collapsed ``<details>`` in HTML, a plain subsection in Markdown."""

    summary: str
    blocks: list


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(blocks)


def _inline_md_to_html(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


_NUMERIC = re.compile(r"^[\s*+\-−—±.,\d%\[\]()e]+$")


def _td(text: str) -> str:
    """A table cell; numbers are right-aligned and kept on one line."""
    cls = ' class="num"' if _NUMERIC.match(text) else ""
    return f"<td{cls}>{_inline_md_to_html(text)}</td>"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _headings(blocks: list) -> list[Heading]:
    """Level-2 headings, those inside a :class:`Details` included (the contents list them all)."""
    found = []
    for b in blocks:
        if isinstance(b, Heading) and b.level == 2:
            found.append(b)
        elif isinstance(b, Details):
            found += _headings(b.blocks)
    return found


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    out += _markdown_blocks(doc.blocks, _headings(doc.blocks))
    return "\n".join(out)


def _markdown_blocks(blocks: list, contents: list[Heading]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Contents):
            if contents:
                out += ["**Contents**", ""] + [f"- [{h.text}](#{h.anchor})" for h in contents] + [""]
        elif isinstance(b, Callout):
            out += [f"> **Note.** {b.text}", ""]
        elif isinstance(b, Details):
            out += [f"**{b.summary}**", ""] + _markdown_blocks(b.blocks, contents)
        elif isinstance(b, Heading):
            out += [f"{'#' * b.level} {b.text}", ""]
        elif isinstance(b, Paragraph):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "|".join("---" for _ in b.header) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({b.path.as_posix()})", "", f"*{b.caption}*", ""]
    return out


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1400px;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.5}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #ccc;margin-top:2.2rem}
.table-wrap{overflow-x:auto;max-width:100%;margin:0 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;white-space:nowrap}td.num{text-align:right;white-space:nowrap}
figure{margin:1.2rem 0;text-align:center}img{max-width:100%;height:auto}
figcaption,.caption{font-size:.9rem;color:#555;text-align:left;margin-bottom:.3rem}
@media (max-width:600px){td:not(.num){min-width:8rem}}
code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}p,li{overflow-wrap:break-word}
nav ul{columns:2}
.banner{border-left:4px solid #b35900;background:#fff4e5;padding:.6rem 1rem;margin:1rem 0}
details{margin:1rem 0}summary{cursor:pointer;font-weight:600}
a.anchor{color:inherit;text-decoration:none;font-weight:600}
img{cursor:zoom-in}img.zoom{position:fixed;inset:0;margin:auto;max-width:98vw;max-height:98vh;z-index:10;
cursor:zoom-out;background:#fff;box-shadow:0 0 0 100vmax rgba(0,0,0,.6)}
@media (prefers-color-scheme:dark){body{background:#121212;color:#ddd}h1{border-color:#aaa}h2{border-color:#444}
th{background:#2a2a2a}th,td{border-color:#444}code{background:#2a2a2a}figcaption,.caption{color:#aaa}
.banner{background:#3a2a10;border-color:#e08a2c}a{color:#8ab4f8}img{background:#fff}}
"""

# click to enlarge, without a second copy of the image: toggles a class on the clicked figure
ZOOM_JS = "document.addEventListener('click',e=>{if(e.target.tagName==='IMG')e.target.classList.toggle('zoom')});"


def compact_png(data: bytes) -> bytes:
    """A 256-colour palette copy of a PNG for embedding (plots have few colours; about a third of the
    bytes), or the original when that is not smaller. report.md keeps linking the full-colour files."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def _html_blocks(blocks: list, base: Path, contents: list[Heading], counter: list[int] | None = None) -> list[str]:
    counter = counter if counter is not None else [0, 0]  # figures and tables numbered so far
    body = []
    for b in blocks:
        if isinstance(b, Contents):
            if contents:
                items = "".join(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>' for h in contents)
                body.append(f"<nav><strong>Contents</strong><ul>{items}</ul></nav>")
        elif isinstance(b, Callout):
            body.append(f'<div class="banner" role="note"><strong>Note.</strong> {_inline_md_to_html(b.text)}</div>')
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
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in b.rows)
            # the caption stays outside the scroll box: on a phone it wraps to the screen, not to the table
            counter[1] += 1
            n = counter[1]
            label = f'<a class="anchor" href="#table-{n}">Table {n}.</a> '
            cap = f'<p class="caption" id="table-{n}">{label}{_inline_md_to_html(b.caption)}</p>'
            body.append(
                f'{cap}<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
            )
        elif isinstance(b, Figure):
            data = base64.b64encode(compact_png((base / b.path).read_bytes())).decode("ascii")
            alt = html.escape(b.caption, quote=True)
            counter[0] += 1
            n = counter[0]
            body.append(
                f'<figure id="figure-{n}"><img src="data:image/png;base64,{data}" alt="{alt}" title="click to enlarge">'
                f'<figcaption><a class="anchor" href="#figure-{n}">Figure {n}.</a> {html.escape(b.caption)}'
                "</figcaption></figure>"
            )
    return body


def to_html(doc: Document, base: Path) -> str:
    """Self-contained HTML: figures under ``base`` are embedded as data URIs."""
    body = [f"<h1>{html.escape(doc.title)}</h1>", *_html_blocks(doc.blocks, base, _headings(doc.blocks))]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{ZOOM_JS}</script>\n</body></html>\n"
    )
