"""Markdown from the knowledge base as Telegram's HTML subset (markdown-it-py parses it).

Telegram shows <b>, <i>, <code> and <a href>; everything else becomes text: paragraphs joined
(Markdown's line wrapping undone), list items and table rows as "• " lines, task boxes as ☐,
headings bold.
No raw Markdown (`**`, backticks, `[text](url)`) ever reaches the user.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.advisor.compose import table_row

_PARSER = MarkdownIt("commonmark").enable("table")
INLINE_TAGS = {"strong_open": "<b>", "strong_close": "</b>", "em_open": "<i>", "em_close": "</i>"}


def to_telegram_html(markdown: str) -> str:
    blocks: list[str] = []
    prefix = ""
    row: list[str] | None = None  # the cells of the table row being read
    header = False
    for token in _PARSER.parse(markdown):
        if token.type == "thead_open":
            header = True
        elif token.type == "thead_close":
            header = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            # A table row as a list item, "• Proven equipment: Loan, tax incentive"; the header
            # row names the columns, which the rows' own words make plain.
            if row and not header:
                blocks.append("• " + table_row(row))
            row = None
        elif token.type == "inline" and row is not None:
            row.append(_inline(token.children or []))
        elif token.type == "list_item_open":
            prefix = "• "
        elif token.type == "heading_open":
            prefix = "<b>"
        elif token.type == "inline":
            text = _inline(token.children or [])
            if prefix == "• " and text.startswith(("[ ] ", "[x] ", "[X] ")):
                text = ("☐ " if text[1] == " " else "☑ ") + text[4:]
                blocks.append(text)
            else:
                blocks.append(prefix + text + ("</b>" if prefix == "<b>" else ""))
            prefix = "• " if prefix == "• " else ""
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefix = ""
    return _join(blocks)


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    href: list[str] = []
    for child in children:
        if child.type == "text":
            out.append(escape(child.content))
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "code_inline":
            out.append(escape(child.content))
        elif child.type in INLINE_TAGS:
            out.append(INLINE_TAGS[child.type])
        elif child.type == "link_open":
            url = str(child.attrs.get("href", ""))
            href.append(url)
            out.append(f'<a href="{escape(url, quote=True)}">' if url.startswith(("http://", "https://")) else "")
        elif child.type == "link_close":
            url = href.pop() if href else ""
            out.append("</a>" if url.startswith(("http://", "https://")) else "")
    return "".join(out).strip()


def _join(blocks: list[str]) -> str:
    """List items on consecutive lines, other blocks separated by a blank line."""
    out: list[str] = []
    for block in blocks:
        if out and block.startswith(("• ", "☐ ", "☑ ")) and out[-1].startswith(("• ", "☐ ", "☑ ")):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return "\n\n".join(out)
