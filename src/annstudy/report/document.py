"""A tiny document model: the report is written once as a list of these blocks.

report/markdown.py and report/html_page.py render the same list, so report.md and report.html
say exactly the same thing; the blocks say *what* is shown, the writers *how*. Figures are PNG
files: linked from the Markdown, embedded as base64 data URIs in the HTML so it can be mailed as
one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 2
    id: str = ""  # set by report/html_page.py where two headings share a text

    @property
    def anchor(self) -> str:
        """The link target: the text slugged, unless the HTML writer numbered a repeated one."""
        return self.id or re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


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
class Chart:
    """An interactive Vega-Lite chart (report/interactive.py) in the HTML; report.md shows ``fallback``,
    the PNG of the same data, so the Markdown report stays readable without JavaScript."""

    spec: dict
    fallback: Path  # relative to the report directory
    caption: str


@dataclass
class FindingCard:
    """One key finding: the question, the answer as a sentence, its key number and status, and where its evidence is."""

    study: str
    question: str
    answer: str
    key: str
    n: str
    budget: str
    status: str  # a Status value ("supported", "did not train"): styled by :func:`status_class`
    href: str = ""  # "#s2-activations": the section with the evidence


@dataclass
class Findings:
    """The key findings: a table in Markdown, cards in HTML that reflow to one column on a phone, so each
    answer and its status is read without scrolling sideways."""

    cards: list[FindingCard]
    caption: str = ""


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
        """Append blocks in reading order: both writers render them in exactly this order."""
        self.blocks.extend(blocks)


def contents_headings(blocks: list) -> list[Heading]:
    """Level-2 headings, those inside a :class:`Details` included: both writers' contents list them all."""
    found = []
    for b in blocks:
        if isinstance(b, Heading) and b.level == 2:
            found.append(b)
        elif isinstance(b, Details):
            found += contents_headings(b.blocks)
    return found
