"""What `advisor ingest` refuses: links out of the folder, folders that hold no knowledge, files too
big to parse, and impossible dates (a one-line `file:line: message`, never a traceback)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.knowledge.loaders import MAX_FILE_BYTES, ContentInvalid, load_corpus

OUTSIDE_TEXT = "root:x:0:0:Zorblax secret account"


def errors_for(root: Path) -> list:
    with pytest.raises(ContentInvalid) as info:
        load_corpus([root])
    return info.value.errors


def test_a_link_to_outside_the_folder_is_skipped_with_a_warning(small_kb, tmp_path, caplog):
    outside = tmp_path / "etc" / "passwd"
    outside.parent.mkdir()
    outside.write_text(OUTSIDE_TEXT)
    documents = small_kb / "documents"
    documents.mkdir()
    (documents / "passwd.txt").symlink_to(outside)
    (documents / "notes.txt").write_text("Repair cafés fix toasters.\n")
    (documents / "notes-again.txt").symlink_to(documents / "notes.txt")  # inside the folder: fine
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.loaders"):
        docs = load_corpus([small_kb])
    assert not any("Zorblax" in d.text for d in docs)
    assert {"doc-documents-notes", "doc-documents-notes-again"} <= {d.id for d in docs}
    assert "passwd.txt" in caplog.text and "outside the ingested folder" in caplog.text


def test_a_folder_that_is_not_a_knowledge_folder_is_refused(tmp_path):
    system = tmp_path / "etc"
    for name, text in {"passwd": OUTSIDE_TEXT, "hosts": "127.0.0.1 localhost", "motd.txt": "Welcome"}.items():
        (system / name).parent.mkdir(exist_ok=True)
        (system / name).write_text(text)
    [error] = errors_for(system)
    assert error.path == str(system) and error.message.startswith("not a knowledge folder")
    assert "hosts" in error.message and "2 file(s)" in error.message
    extra = tmp_path / "extra"  # a folder of documents only, as README's "extra folder" is, still is one
    extra.mkdir()
    (extra / "repair-cafe.md").write_text("# Repair cafés\n\nVolunteers fix toasters.\n")
    assert [d.id for d in load_corpus([extra])] == ["doc-repair-cafe"]


def test_files_over_the_size_cap_are_skipped_at_once_with_name_and_size(small_kb, caplog):
    huge = small_kb / "funding" / "huge.yaml"
    huge.write_text("schemes: [" + "{a: [b, " * 2_000_000)  # 16 MB of invalid YAML: took 275 s
    big = small_kb / "documents" / "big.md"
    big.parent.mkdir()
    big.write_text("# Big\n\n" + "word " * (MAX_FILE_BYTES // 5 + 1))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.loaders"):
        docs = load_corpus([small_kb])
    assert time.monotonic() - started < 10
    assert "fr-test-ecodesign-grant" in {d.id for d in docs} and "doc-documents-big" not in {d.id for d in docs}
    assert "huge.yaml: 16.0 MB" in caplog.text and "big.md: 2.0 MB" in caplog.text


def test_an_impossible_date_is_reported_at_its_file_and_line(small_kb):
    schemes = small_kb / "funding" / "schemes.yaml"
    schemes.write_text(schemes.read_text().replace("last_verified: 2026-11-22", "last_verified: 2025-13-45", 1))
    module = small_kb / "modules" / "eco-design-basics.md"
    module.write_text(module.read_text().replace("last_verified: 2026-11-22", "last_verified: 2026-02-30"))
    messages = sorted(str(e) for e in errors_for(small_kb))
    assert messages == [
        f"{schemes}:19: invalid date '2025-13-45': month must be in 1..12",
        f"{module}:14: invalid date '2026-02-30': day is out of range for month",
    ]


@pytest.mark.parametrize("case", ["impossible date", "system folder"])
def test_advisor_ingest_fails_in_one_line_per_problem(small_kb, tmp_path, case):
    if case == "impossible date":
        target = small_kb
        schemes = small_kb / "funding" / "schemes.yaml"
        schemes.write_text(schemes.read_text().replace("2026-11-22", "2025-13-45", 1))
        expected = f"{schemes}:19: invalid date '2025-13-45'"
    else:
        target = tmp_path / "etc"
        target.mkdir()
        (target / "passwd").write_text(OUTSIDE_TEXT)
        expected = f"{target}: not a knowledge folder"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env |= {"ADVISOR_DATA_DIR": str(tmp_path / "data"), "ADVISOR_KNOWLEDGE_DIR": str(small_kb)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ingest", str(target)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    problems = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert len(problems) == 1 and problems[0].startswith(expected), done.stderr
    assert "Zorblax" not in done.stdout + done.stderr
