"""`advisor chat` as a user types into it: the same advisor as Telegram, honest about people."""

import os
import shutil
import subprocess
import sys

from bot.knowledge.base import KnowledgeBase
from tests.conftest import FIXTURES, make_settings


def test_the_terminal_chat_never_promises_a_person_and_answers_in_the_users_language(tmp_path):
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    settings = make_settings(tmp_path, knowledge_dir=tmp_path / "kb", data_dir=tmp_path / "data")
    KnowledgeBase.open(settings).sync()
    env = {
        **os.environ,
        "ADVISOR_DATA_DIR": str(settings.data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ADVISOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "ADVISOR_LLM_BASE_URL": "",
        "COLUMNS": "200",
    }
    typed = "\n".join(
        [
            "/human",
            "I would like to talk to a real person please",
            "Is there a voucher that helps a small Danish company redesign its plastic packaging?",
            "Quelles aides existent en France pour l'écoconception ?",
            "/quit",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input=typed + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    assert "who will answer you here" not in out and "I'm passing your conversation" not in out
    assert out.count("can't bring a person into this terminal chat") == 2
    assert "send /human there" in out
    replies = out.split("you>")[1:]  # what the user read after each line they typed
    assert "Test packaging innovation voucher for Danish SMEs" in replies[2]
    # A new question is a new question: the French one gets the French scheme, in French.
    french = replies[3].split("triage:")[0]
    assert "D'après notre base de connaissances" in french
    assert "Test eco-design grant for French SMEs" in french and "Danish" not in french


def run_chat(tmp_path, typed: list[str]) -> str:
    """What a user reads when they pipe lines into `advisor chat` (stdout is not a terminal)."""
    if not (tmp_path / "kb").exists():  # else the test's own edited copy
        shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    settings = make_settings(tmp_path, knowledge_dir=tmp_path / "kb", data_dir=tmp_path / "data")
    KnowledgeBase.open(settings).sync()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},  # rich's 80 columns
        "ADVISOR_DATA_DIR": str(settings.data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ADVISOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "ADVISOR_LLM_BASE_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="\n".join([*typed, "/quit"]) + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


LONG_URL = "https://example.org/funding/denmark/innovation/packaging-voucher-for-small-and-medium-sized-companies-2026"


def test_piped_chat_never_breaks_a_url_across_lines(tmp_path):
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    schemes = tmp_path / "kb" / "funding" / "schemes.yaml"
    schemes.write_text(schemes.read_text().replace("https://example.org/dk-voucher", LONG_URL))
    out = run_chat(tmp_path, ["Is there a voucher that helps a small Danish company redesign its plastic packaging?"])
    answer = out.split("you>")[1]
    assert "Test packaging innovation voucher for Danish SMEs" in answer
    # In the answer's funding details and in the numbered source under it: whole, clickable, copyable.
    assert answer.count(LONG_URL) == 2, answer


def test_chat_profile_reads_like_the_telegram_profile(tmp_path):
    out = run_chat(tmp_path, ["/profile country=DK sector=textiles size=small lang=fr", "/profile size=huge"])
    shown, refused = out.split("you>")[1:3]
    # The Telegram /profile's labels and values, in the user's language: no Python dict.
    assert "{" not in shown and "company_size" not in shown
    for line in ("Langue: Français", "Pays: DK", "Secteur: Textile", "Taille: Petite (10-49)"):
        assert line in shown
    assert "size=huge is not one of: micro, small, medium, large" in refused
