"""report.md: the document's blocks as GitHub-flavoured Markdown.

The Markdown is the plain twin of report.html: readable in a diff and on a repository page,
with figures linked (not embedded), the findings as one table and collapsed details as plain
subsections.
"""

from __future__ import annotations

import re

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


def _md_cell(text: str) -> str:
    """A table cell that cannot break the table: pipes escaped, newlines folded."""
    return text.replace("|", "\\|").replace("\n", " ")


def _findings_markdown(b: Findings) -> list[str]:
    """The key findings as one table: a row per finding, its study linked to the section with the evidence."""
    out = [f"*{b.caption}*", ""] if b.caption else []
    out += ["| study | question | answer | key number | n | budget | status |", "|---|---|---|---|---|---|---|"]
    for c in b.cards:
        study = f"[{c.study}]({c.href})" if c.href else c.study
        cells = [study, c.question, c.answer, c.key, c.n, c.budget, f"**{c.status}**"]
        out.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    return out + [""]


def _table_markdown(b: Table) -> list[str]:
    """A pipe table, its caption in italics above it (where report.html puts "Table n.")."""
    out = [f"*{b.caption}*", ""] if b.caption else []
    out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
    out.append("|" + "|".join("---" for _ in b.header) + "|")
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
    return out + [""]


# "<" opening a tag or comment. The writer emits no HTML of its own, so any such "<" comes from data (a
# class label, a folder path) and would be raw HTML to a Markdown renderer: it is written as "&lt;".
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def to_markdown(doc: Document) -> str:
    """report.md: the title, then every block in order; data never becomes HTML (:data:`TAG_START`)."""
    out = [f"# {doc.title}", ""]
    out += _markdown_blocks(doc.blocks, contents_headings(doc.blocks))
    return TAG_START.sub("&lt;", "\n".join(out))


def _markdown_blocks(blocks: list, contents: list[Heading]) -> list[str]:
    """The lines of ``blocks``; ``contents`` are the headings a :class:`Contents` block lists."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Contents):
            if contents:
                out += ["**Contents**", ""] + [f"- [{h.text}](#{h.anchor})" for h in contents] + [""]
        elif isinstance(b, Callout):
            out += [f"> **Note.** {b.text}", ""]
        elif isinstance(b, Findings):
            out += _findings_markdown(b)
        elif isinstance(b, Details):
            out += [f"**{b.summary}**", ""] + _markdown_blocks(b.blocks, contents)
        elif isinstance(b, Heading):
            out += [f"{'#' * b.level} {b.text}", ""]
        elif isinstance(b, Paragraph):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out += _table_markdown(b)
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({b.path.as_posix()})", "", f"*{b.caption}*", ""]
        elif isinstance(b, Chart):
            out += [f"![{b.caption}]({b.fallback.as_posix()})", "", f"*{b.caption}* (interactive in report.html)", ""]
    return out
