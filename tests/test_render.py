"""Splitting long HTML messages for Telegram's 4,096-character limit."""

from html import escape

from bot.telegram.render import split_message


def test_short_message_is_one_part():
    assert split_message("hello") == ["hello"]


def test_paragraphs_stay_whole_and_parts_fit():
    paragraphs = [f"Paragraph {i}: " + "circular " * 60 for i in range(20)]
    html = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_message(html, limit=1000)
    assert all(len(p) <= 1000 for p in parts) and len(parts) > 1
    assert "\n\n".join(parts) == html  # nothing lost, nothing reordered, paragraphs never cut


def test_one_huge_line_is_cut_at_spaces_and_never_inside_an_entity():
    line = escape("<b> & ") * 2000  # one 12,000-character line full of entities
    parts = split_message(line, limit=4096)
    assert all(len(p) <= 4096 for p in parts)
    for part in parts:
        assert part.count("&") == part.count(";")  # every entity complete
    assert "".join(parts).replace(" ", "") == line.replace(" ", "")


def test_line_without_spaces_is_cut_between_entities():
    line = escape("<&>") * 3000  # 39,000 characters, no space to cut at
    parts = split_message(line, limit=4096)
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("&") and p.endswith(";") for p in parts)
    assert "".join(parts) == line


def test_a_markdown_table_reads_as_one_line_per_row_never_as_pipes():
    from bot.telegram.markdown import to_telegram_html

    table = (
        "| Project | Typical fit |\n|---|---|\n"
        "| Feasibility study | Voucher, small grant |\n| Proven **equipment** | Loan |\n"
    )
    shown = to_telegram_html(table)
    assert shown == "• Feasibility study: Voucher, small grant\n• Proven <b>equipment</b>: Loan"
