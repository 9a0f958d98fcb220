"""Turning advisor replies and catalogue data into Telegram HTML messages and keyboards.

Every dynamic text is escaped; long messages are split on paragraph boundaries so that no
part exceeds Telegram's 4,096 characters and no tag is cut in half.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.advisor.models import AdvisorReply, Citation, SchemeCard
from bot.i18n import t
from bot.knowledge.schema import FundingScheme
from bot.telegram import callbacks
from bot.telegram.markdown import to_telegram_html
from bot.tools.calculator import worth_suggesting

LIMIT = 4096


def split_message(html: str, limit: int = LIMIT) -> list[str]:
    """Split on blank lines, then lines, then spaces; pieces are whole escaped units."""
    if len(html) <= limit:
        return [html]
    units: list[str] = []
    for para in html.split("\n\n"):
        if len(para) <= limit:
            units.append(para)
        else:
            lines = [piece for line in para.split("\n") for piece in _hard_wrap(line, limit)]
            units += _pack(lines, "\n", limit)
    return _pack(units, "\n\n", limit)


def _pack(pieces: list[str], sep: str, limit: int) -> list[str]:
    """Join consecutive pieces with `sep` into as few parts of at most `limit` as possible."""
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _hard_wrap(line: str, limit: int) -> list[str]:
    """Cut an over-long line at spaces, never inside an HTML entity like &amp;."""
    out = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
        out.append(line[:cut])
        line = line[cut:].lstrip(" ")
    out.append(line)
    return out


def source_line(c: Citation) -> str:
    title = escape(c.title)
    if c.url:
        return f'{c.number}. <a href="{escape(c.url, quote=True)}">{title}</a>'
    return f"{c.number}. {title}"


def reply_html(reply: AdvisorReply, lang: str) -> str:
    """The answer, its sources and, under an answer about funding or costs, where to work out the
    savings (/calc)."""
    body = escape(reply.answer)
    if reply.citations:
        sources = "\n".join(source_line(c) for c in reply.citations)
        body += f"\n\n<b>{escape(t('sources_title', lang))}</b>\n{sources}"
    if worth_suggesting(reply):
        body += "\n\n" + escape(t("calc_hint", lang, command="/calc"))
    return body


def module_to_read(reply: AdvisorReply) -> str | None:
    """The training module an answer leads with, to be read whole with /learn."""
    first = reply.citations[0] if reply.citations else None
    return first.source_id if first is not None and first.kind == "module" else None


def reply_keyboard(
    message_id: int, lang: str, has_sources: bool, handed_over: bool = False, module: str | None = None
) -> InlineKeyboardMarkup | None:
    """👍/👎, 📚 Sources and 🙋 under an answer, and 📖 the module it leads with. A reply that hands
    the conversation to a person keeps only 📚 Sources: rating it or asking for a person again
    would make no sense."""
    if handed_over:
        if not has_sources:
            return None
        data = callbacks.make("src", message_id)
        return InlineKeyboardMarkup([[InlineKeyboardButton(t("btn_sources", lang), callback_data=data)]])
    row = [
        InlineKeyboardButton(t("btn_helpful", lang), callback_data=callbacks.make("fb", "up", message_id)),
        InlineKeyboardButton(t("btn_not_helpful", lang), callback_data=callbacks.make("fb", "down", message_id)),
    ]
    second = [InlineKeyboardButton(t("btn_human", lang), callback_data=callbacks.make("hum"))]
    if has_sources:
        second.insert(0, InlineKeyboardButton(t("btn_sources", lang), callback_data=callbacks.make("src", message_id)))
    rows = [row, second]
    if module and callbacks.SAFE.match(module):  # ids are slugs; anything else gets no button
        read = InlineKeyboardButton(t("btn_read_module", lang), callback_data=callbacks.make("ln", "module", module))
        rows.append([read])
    return InlineKeyboardMarkup(rows)


def passages_html(citations: list[dict], lang: str, per_passage: int = 700) -> str:
    """The 📚 Sources view: each cited passage rendered from its Markdown, cut at a paragraph."""
    blocks = []
    for c in citations:
        text = _cut(c["passage"], per_passage)
        head = f"<b>[{c['number']}] {escape(t('passage_from', lang, title=c['title']))}</b>"
        blocks.append(f"{head}\n{to_telegram_html(text)}")
    return "\n\n".join(blocks)


def _cut(markdown: str, limit: int) -> str:
    """At most `limit` characters, ended at a paragraph (or else a sentence) with "…"."""
    if len(markdown) <= limit:
        return markdown
    head = markdown[:limit]
    for mark in ("\n\n", ". ", "\n"):
        at = head.rfind(mark)
        if at > limit // 2:
            return head[: at + (1 if mark == ". " else 0)].rstrip() + " …"
    return head.rsplit(" ", 1)[0] + " …"


def amount_text(s: FundingScheme, lang: str) -> str:
    """The card's Amount slot when the scheme states no figure: why, or "check with the provider"."""
    if s.no_fixed_amount is not None:  # the provider publishes no fixed figure: say why, not "unknown"
        return t(f"no_fixed_amount.{s.no_fixed_amount.value}", lang)
    return t("amount_unknown", lang)


def scheme_html(n: int, s: FundingScheme, card: SchemeCard, lang: str) -> str:
    """One scheme of the /funding list, from its card (worded in the reader's language)."""
    text = t(
        "funding_item",
        lang,
        n=n,
        name=card.name,
        provider=card.provider,
        instruments=card.instruments,
        amount=card.figures or amount_text(s, lang),
        status=card.status,
        url=card.url,
    )
    # Escape the whole card, then make its first line bold and its URL a link.
    lines = escape(text).split("\n")
    lines[0] = f"<b>{lines[0]}</b>"
    lines = [
        f'<a href="{escape(card.url, quote=True)}">{escape(card.url)}</a>' if line == escape(card.url) else line
        for line in lines
    ]
    return "\n".join(lines)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data) pairs."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def chunked(items: list[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    return [items[i : i + per_row] for i in range(0, len(items), per_row)]
