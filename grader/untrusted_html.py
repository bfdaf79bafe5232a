"""Make what a student wrote safe to show in a browser: Markdown and raw cells of an executed notebook.

A submission's Markdown can hold HTML: a ``<script>``, an ``onerror`` handler, a ``javascript:`` link.
nbgrader renders Markdown cells into the formgrader's view of a submission and into feedback pages
without sanitizing them (its templates override nbconvert's sanitized Markdown block), and a raw
cell without a format is copied into HTML pages as it is. Outputs are sanitized by nbconvert itself
once ``HTMLExporter.sanitize_html`` is on (see ``grader/nbgrader_config.py``).

:class:`~grader.preprocessors.sanitize_markdown.SanitizeMarkdown` renders each Markdown cell as nbgrader will and asks `bleach
<https://github.com/mozilla/bleach>`_ (which parses HTML as browsers do) whether anything outside a
list of harmless tags, attributes and link schemes is in it. A cell with nothing of the kind is left
exactly as written; any other cell, and any raw cell, is replaced by its source shown as text, under
a note from the grader. The decision never depends on a parser of our own.
"""

from __future__ import annotations

import re

import bleach
from bleach import html5lib_shim
from bleach.sanitizer import BleachSanitizerFilter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell

from .cell_metadata import NOTE_KEY

#: Tags that rendered Markdown and ordinary notebook HTML use, and that cannot run code.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})

#: Attributes kept on those tags (never an event handler, never a style).
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "title", "align"],
    "a": ["href", "title", "class"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align", "scope"],
    "ol": ["start", "type"],
    "col": ["span"],
    "colgroup": ["span"],
}

#: Link and image schemes kept; relative links and anchors have no scheme and are kept too.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "attachment"})


#: bleach's cleaner with the lists above.
_CLEANER = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
                          strip_comments=False)


def _normalized(html: str) -> str:
    """Return ``html`` parsed and written again by bleach, keeping every tag, attribute and link."""
    parser = html5lib_shim.BleachHTMLParser(tags=None, strip=False, consume_entities=False,
                                            namespaceHTMLElements=False)
    dom = parser.parseFragment(html)
    names = {element.tag for element in dom.iter() if isinstance(element.tag, str)}
    # No attribute counts as a link here, so that no link is checked, let alone removed.
    keep_all = BleachSanitizerFilter(source=_CLEANER.walker(dom), allowed_tags=names | ALLOWED_TAGS,
                                     attributes=lambda tag, name, value: True, attr_val_is_uri=frozenset(),
                                     svg_attr_val_allows_ref=frozenset(), strip_html_comments=False)
    return _CLEANER.serializer.render(keep_all)


def is_safe(html: str) -> bool:
    """Return True when ``html`` holds only allowed tags, attributes and link schemes.

    bleach parses and writes ``html`` twice, once keeping everything and once keeping only what the
    lists above allow; the two agree exactly when the lists removed or escaped nothing.
    """
    return _normalized(html) == _CLEANER.clean(html)


def render_markdown(cell: NotebookNode) -> str:
    """Render a Markdown cell to HTML as nbconvert's HTML exporter does (attachments included)."""
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments") or {})
    return MarkdownWithMath(renderer=renderer).render(cell.source)


def markdown_is_safe(cell: NotebookNode) -> bool:
    """Return True when a Markdown cell, rendered as nbgrader renders it, is safe to show."""
    try:
        html = render_markdown(cell)
    except Exception:  # A damaged attachment or odd Markdown: not worth the risk.  # noqa: BLE001
        return False
    return is_safe(html)


def as_text(cell: NotebookNode, what: str) -> NotebookNode:
    """Return a Markdown cell that shows ``cell``'s source as text, under a note saying why.

    The new cell keeps the old one's id and metadata (nbgrader's included).
    """
    source = cell.source
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    note = (f"a {what} held HTML that could run code in a reader's browser (a script, an event handler or a "
            "link of another kind than http, https or mailto), so it is shown as text.")
    shown = new_markdown_cell(f"**Note from the grader:** {note}\n\n{fence}text\n{source}\n{fence}")
    shown.metadata.update(cell.get("metadata", {}))
    shown.metadata[NOTE_KEY] = note
    if cell.get("id"):
        shown.id = cell.id
    return shown
