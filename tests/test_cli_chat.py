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
