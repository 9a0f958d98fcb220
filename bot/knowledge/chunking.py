"""Split documents into chunks that keep their heading context."""

from __future__ import annotations

import hashlib

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from pydantic import BaseModel

from bot.knowledge.loaders import SourceDocument

CHUNK_SIZE = 1200
CHUNK_OVERLAP = 150

_headers = MarkdownHeaderTextSplitter(
    headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3")], strip_headers=True
)
_recursive = RecursiveCharacterTextSplitter(
    chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, separators=["\n\n", "\n", ". ", " ", ""]
)


class Chunk(BaseModel):
    id: str
    source_id: str
    index: int
    section: str
    text: str  # what is embedded and shown: "Title > Section\n\npassage"
    passage: str  # the passage alone, for quoting


def split_document(doc: SourceDocument) -> list[Chunk]:
    pieces: list[tuple[str, str]] = []
    for part in _headers.split_text(doc.text):
        headings = [part.metadata[h] for h in ("h1", "h2", "h3") if h in part.metadata]
        # The title is already in the context line; skip an H1 that repeats it.
        headings = [h for h in headings if h.strip().lower() != doc.title.strip().lower()]
        section = " > ".join(headings)
        for piece in _recursive.split_text(part.page_content):
            if piece.strip():
                pieces.append((section, piece.strip()))
    chunks = []
    for i, (section, passage) in enumerate(pieces):
        context = doc.title + (f" > {section}" if section else "")
        text = f"{context}\n\n{passage}"
        digest = hashlib.sha256(f"{doc.content_hash}|{text}".encode()).hexdigest()[:16]
        chunks.append(
            Chunk(
                id=f"{doc.id}::{digest}",
                source_id=doc.id,
                index=i,
                section=section,
                text=text,
                passage=passage,
            )
        )
    return chunks
