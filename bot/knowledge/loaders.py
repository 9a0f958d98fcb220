"""Load and validate everything under `knowledge/` into `SourceDocument`s.

Validation collects every problem in every file (file, line, field, message) before anything
is written to the index, so a malformed file never leaves a half-ingested corpus.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from bot.knowledge import yamlio
from bot.knowledge.schema import (
    CasesFile,
    FaqEntry,
    FaqFile,
    FundingFile,
    FundingScheme,
    GlossaryFile,
    GoodPractice,
    Kind,
    ProvidersFile,
    TrainingModule,
)
from bot.knowledge.translations import SchemeTextFile, TranslatedModuleMeta, TranslationFile

log = logging.getLogger(__name__)

# Files in the knowledge folder that are not corpus content.
NOT_CONTENT = {"README.md", "self_assessment.yaml", "ambassadors.yaml", "ambassadors.example.yaml"}
DOCUMENT_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".pdf", ".txt"}
CONTENT_SUFFIXES = DOCUMENT_SUFFIXES | {".yaml", ".yml"}
# What marks a folder as a knowledge folder (knowledge/README.md, "Layout").
LAYOUT = ("modules", "funding", "faq", "documents", "cases", "translations", "providers", "glossary.yaml")
# The largest shipped file is ~100 kB; past these, parsing costs minutes and gigabytes (a 16 MB
# YAML file took 275 s and 1.3 GB). PDFs get more room: their size is mostly images and fonts.
MAX_FILE_BYTES = 2_000_000
MAX_PDF_BYTES = 20_000_000


class ContentError(BaseModel):
    path: str
    line: int | None = None
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class SourceDocument(BaseModel):
    """One knowledge item, ready to split and index."""

    id: str
    kind: Kind
    title: str
    text: str
    path: str
    language: str = "en"
    url: str | None = None
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    company_sizes: list[str] = Field(default_factory=list)
    provider: str | None = None
    last_verified: dt.date | None = None

    @property
    def content_hash(self) -> str:
        payload = self.model_dump_json(exclude={"path"})
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- YAML with line numbers ---------------------------------------------------------------


def _node_line(root: yaml.Node | None, loc: Iterable[Any]) -> int | None:
    """Line (1-based) of the YAML node that a pydantic error location points at."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next(
                (v for k, v in node.value if getattr(k, "value", None) == part),
                None,
            )
            if node is None:  # a missing key: point at the mapping
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            break
    return node.start_mark.line + 1 if node is not None else line


def _validation_errors(
    path: str, exc: ValidationError, root: yaml.Node | None, line_offset: int = 0
) -> list[ContentError]:
    errors = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
        line = _node_line(root, loc)
        errors.append(
            ContentError(
                path=path,
                line=line + line_offset if line else None,
                field=".".join(str(p) for p in loc) or None,
                message=err["msg"],
            )
        )
    return errors


class _InvalidDate(yaml.constructor.ConstructorError):
    pass


class _ContentLoader(yamlio.SafeLoader):
    """A safe loader (libyaml's where installed) whose impossible dates (2025-13-45) are errors
    at their line, not a ValueError."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _InvalidDate(None, None, f"invalid date {node.value!r}: {exc}", node.start_mark) from None


_ContentLoader.add_constructor("tag:yaml.org,2002:timestamp", _ContentLoader.construct_yaml_timestamp)


def _parse_yaml(path: str, text: str, line_offset: int = 0) -> tuple[Any, yaml.Node | None]:
    loader = _ContentLoader(text)
    try:  # composed once: the nodes give pydantic errors their lines, then become the data
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if isinstance(exc, _InvalidDate) and exc.problem:
            problem = exc.problem
        else:
            problem = f"not valid YAML: {getattr(exc, 'problem', exc)}"
        raise ContentInvalid(
            [ContentError(path=path, line=mark.line + 1 + line_offset if mark else None, message=problem)]
        ) from None
    finally:
        loader.dispose()


def validate_yaml(path: str, text: str, model: type[BaseModel], line_offset: int = 0):
    data, root = _parse_yaml(path, text, line_offset)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ContentInvalid(_validation_errors(path, exc, root, line_offset)) from None


# --- per-format loaders ---------------------------------------------------------------------

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?\n)---\s*\n", re.DOTALL)


def split_front_matter(text: str) -> tuple[str | None, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]


SOURCES_SECTION = re.compile(r"^## Sources\s*$.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def without_sources(body: str) -> str:
    """A module's text with its closing reference list left out: a list of links and titles is
    what the module cites, not what it says, and a search hit on it has nothing to show."""
    return SOURCES_SECTION.sub("", body)


def load_module(path: Path, rel: str) -> SourceDocument:
    front, body = split_front_matter(path.read_text(encoding="utf-8"))
    if front is None:
        raise ContentInvalid([ContentError(path=rel, line=1, message="missing YAML front matter")])
    meta: TrainingModule = validate_yaml(rel, front, TrainingModule, line_offset=1)
    return SourceDocument(
        id=meta.id,
        kind="module",
        title=meta.title,
        text=f"{meta.summary}\n\n{without_sources(body).strip()}",
        path=rel,
        language=meta.language,
        url=None,
        topics=meta.topics,
        sectors=meta.sectors,
        last_verified=meta.last_verified,
    )


def _money(value: float) -> str:
    return f"{value:,.0f}"


def scheme_text(s: FundingScheme) -> str:
    """The indexed text of a scheme: every fact a user may ask about, in plain sentences."""
    where = "EU-wide" if s.eu_wide else ", ".join(s.countries)
    if s.regions:
        where += f" ({', '.join(s.regions)})"
    instruments = ", ".join(i.value.replace("_", " ") for i in s.instruments)
    lines = [
        f"{s.name} — funding scheme by {s.provider}.",
        f"Where: {where}. Instrument: {instruments}.",
        f"For company sizes: {', '.join(c.value for c in s.company_sizes)}. "
        f"Sectors: {', '.join(s.sectors)}. Topics: {', '.join(s.topics)}.",
        s.description,
    ]
    if s.eligibility:
        lines.append(f"Eligibility: {s.eligibility}")
    if s.amount_min is not None or s.amount_max is not None:
        low = _money(s.amount_min) if s.amount_min is not None else "?"
        high = _money(s.amount_max) if s.amount_max is not None else "?"
        lines.append(f"Typical amount: {low} to {high} {s.currency}.")
    if s.co_financing_rate:
        lines.append(f"Covers up to {s.co_financing_rate:g}% of eligible costs.")
    status = f"Status: {s.status.value}"
    if s.deadline:
        status += f", deadline {s.deadline.isoformat()}"
    lines.append(status + ".")
    if s.how_to_apply:
        lines.append(f"How to apply: {s.how_to_apply}")
    if s.application_url:
        lines.append(f"Apply at: {s.application_url}")
    lines.append(f"Official source: {s.source_url} (last verified {s.last_verified.isoformat()}).")
    return "\n".join(lines)


def case_text(c: GoodPractice) -> str:
    """The indexed text of a good-practice example: what it is, its figures, what an SME can do."""
    where = ", ".join(c.countries) + (f" ({', '.join(c.regions)})" if c.regions else "")
    lines = [
        f"{c.name} — good-practice example run by {c.organisation}, {where}" + (f", {c.period}." if c.period else "."),
        c.summary,
    ]
    if c.figures:
        lines.append("In figures: " + "; ".join(c.figures) + ".")
    lines.append(f"What an SME can do: {c.what_smes_can_do}")
    lines.append(f"Status: {c.status.value}.")
    return "\n".join(lines)


def load_cases(path: Path, rel: str) -> list[SourceDocument]:
    parsed: CasesFile = validate_yaml(rel, path.read_text(encoding="utf-8"), CasesFile)
    return [
        SourceDocument(
            id=c.id,
            kind="case",
            title=c.name,
            text=case_text(c),
            path=rel,
            language=c.language,
            url=str(c.url) if c.url else None,
            countries=c.countries,
            regions=c.regions,
            topics=c.topics,
            sectors=c.sectors,
            provider=c.organisation,
            last_verified=c.last_verified,
        )
        for c in parsed.cases
    ]


def load_glossary(path: Path, rel: str) -> list[SourceDocument]:
    parsed: GlossaryFile = validate_yaml(rel, path.read_text(encoding="utf-8"), GlossaryFile)
    return [
        SourceDocument(
            id=t.id,
            kind="glossary",
            title=t.term,
            text="\n".join(
                filter(
                    None,
                    [
                        f"{t.term}" + (f" ({', '.join(t.aliases)})" if t.aliases else "") + f": {t.definition}",
                        f"Example: {t.example}" if t.example else "",
                    ],
                )
            ),
            path=rel,
            language=t.language,
            topics=t.topics,
            last_verified=t.last_verified,
        )
        for t in parsed.terms
    ]


def load_funding(path: Path, rel: str) -> list[SourceDocument]:
    parsed: FundingFile = validate_yaml(rel, path.read_text(encoding="utf-8"), FundingFile)
    return [
        SourceDocument(
            id=s.id,
            kind="funding",
            title=s.name,
            text=scheme_text(s),
            path=rel,
            language=s.language,
            url=str(s.application_url or s.source_url),
            countries=s.countries,
            regions=s.regions,
            topics=s.topics,
            sectors=s.sectors,
            instruments=[i.value for i in s.instruments],
            company_sizes=[c.value for c in s.company_sizes],
            provider=s.provider,
            last_verified=s.last_verified,
        )
        for s in parsed.schemes
    ]


def faq_document(e: FaqEntry, rel: str) -> SourceDocument:
    return SourceDocument(
        id=e.id,
        kind="faq",
        title=e.question,
        text=f"Q: {e.question}\nA: {e.answer}\n(Reviewed by {e.reviewer} on {e.reviewed_on}.)",
        path=rel,
        language=e.language,
        url=str(e.sources[0].url) if e.sources and e.sources[0].url else None,
        countries=e.countries,
        topics=e.topics,
        last_verified=e.reviewed_on,
    )


def load_faq(path: Path, rel: str) -> list[SourceDocument]:
    parsed: FaqFile = validate_yaml(rel, path.read_text(encoding="utf-8"), FaqFile)
    return [faq_document(e, rel) for e in parsed.entries]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug or "document")[:70]


def load_document(path: Path, rel: str, doc_id: str | None = None) -> SourceDocument:
    """A PDF, HTML, Markdown or text file a maintainer dropped in, without front matter."""
    suffix = path.suffix.lower()
    title = path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    if suffix == ".pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(str(path))
            text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
            if reader.metadata and reader.metadata.title:
                title = str(reader.metadata.title)
        except (PdfReadError, OSError, ValueError) as exc:
            raise ContentInvalid([ContentError(path=rel, message=f"unreadable PDF: {exc}")]) from None
    elif suffix in {".html", ".htm"}:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
        for tag in soup(["script", "style", "nav", "footer"]):
            tag.decompose()
        if soup.title and soup.title.string:
            title = soup.title.string.strip()
        text = html_to_markdownish(soup)
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        if heading:
            title = heading.group(1).strip()
    if not text.strip():
        raise ContentInvalid([ContentError(path=rel, message="no extractable text")])
    return SourceDocument(
        id=doc_id or "doc-" + _slug(str(Path(rel).with_suffix(""))),
        kind="document",
        title=title,
        text=text,
        path=rel,
    )


def html_to_markdownish(soup) -> str:
    """Keep headings as Markdown headings so the splitter keeps their context."""
    parts = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre"]):
        txt = el.get_text(" ", strip=True)
        if not txt:
            continue
        if el.name in {"h1", "h2", "h3", "h4"}:
            parts.append("#" * int(el.name[1]) + " " + txt)
        elif el.name == "li":
            parts.append("- " + txt)
        else:
            parts.append(txt)
    return "\n\n".join(parts)


# --- the corpus --------------------------------------------------------------------------------


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(root, file) for every candidate file under the given paths, in a stable order; refuses a
    folder that is not a knowledge folder and skips links to outside the folder."""
    for root in paths:
        if root.is_file():
            yield root.parent, root
            continue
        files = [
            f
            for f in sorted(root.rglob("*"))
            if f.is_file() and not any(p.startswith(".") for p in f.relative_to(root).parts)
        ]
        check_knowledge_folder(root, files)
        inside = root.resolve()
        for file in files:
            if not file.resolve().is_relative_to(inside):  # /etc/passwd must not become a chunk
                log.warning("skipped %s: a link to %s, outside the ingested folder", file, file.resolve())
                continue
            yield root, file


def check_knowledge_folder(root: Path, files: list[Path]) -> None:
    """`advisor ingest /etc` must not index system files: a folder is ingested if it has the
    knowledge layout, or holds nothing but content files (an extra folder of documents)."""
    if any((root / name).exists() for name in LAYOUT):
        return
    foreign = [f for f in files if f.suffix.lower() not in CONTENT_SUFFIXES and f.name not in NOT_CONTENT]
    if foreign:
        message = (
            f"not a knowledge folder: none of {', '.join(LAYOUT)} in it, and {len(foreign)} file(s) in other "
            f"formats than {', '.join(sorted(CONTENT_SUFFIXES))} (e.g. {foreign[0].relative_to(root)}); "
            "see knowledge/README.md"
        )
        raise ContentInvalid([ContentError(path=str(root), message=message)])


def too_big(file: Path, display: str) -> bool:
    limit = MAX_PDF_BYTES if file.suffix.lower() == ".pdf" else MAX_FILE_BYTES
    size = file.stat().st_size
    if size > limit:
        log.warning(
            "skipped %s: %.1f MB, over the %.0f MB limit for a knowledge file", display, size / 1e6, limit / 1e6
        )
    return size > limit


def load_file(root: Path, file: Path) -> list[SourceDocument]:
    rel = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
    display = str(file)
    if file.name in NOT_CONTENT:
        return []
    top = Path(rel).parts[0] if len(Path(rel).parts) > 1 else ""
    suffix = file.suffix.lower()
    try:
        if suffix not in CONTENT_SUFFIXES or too_big(file, display):
            return []
        if suffix in {".yaml", ".yml"}:
            if top == "translations" or file.parent.name == "translations":
                # Summaries, and schemes' whole texts in their own folder: for composed answers, not indexed.
                model = SchemeTextFile if file.parent.name == "schemes" else TranslationFile
                validate_yaml(display, file.read_text(encoding="utf-8"), model)
                return []
            if top == "providers" or file.parent.name == "providers":
                validate_yaml(display, file.read_text(encoding="utf-8"), ProvidersFile)
                return []  # the /providers directory: searched by bot.knowledge.providers, not indexed
            if file.name in {"glossary.yaml", "glossary.yml"}:
                return load_glossary(file, display)
            if top == "cases" or file.parent.name == "cases":
                return load_cases(file, display)
            if top == "faq" or file.parent.name == "faq":
                return load_faq(file, display)
            return load_funding(file, display)
        if suffix == ".md" and top == "translations":  # a module's text in another language: shown, not indexed
            front, _ = split_front_matter(file.read_text(encoding="utf-8"))
            validate_yaml(display, front or "", TranslatedModuleMeta, line_offset=1)
            return []
        if suffix == ".md" and (top == "modules" or file.parent.name == "modules"):
            return [load_module(file, display)]
        if suffix == ".md" and split_front_matter(file.read_text(encoding="utf-8"))[0]:
            return [load_module(file, display)]
        if suffix in DOCUMENT_SUFFIXES:
            return [load_document(file, display, "doc-" + _slug(str(Path(rel).with_suffix(""))))]
    except UnicodeDecodeError as exc:
        raise ContentInvalid([ContentError(path=display, message=f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:  # unreadable (permissions), or gone since the folder was listed
        raise ContentInvalid([ContentError(path=display, message=f"cannot read: {exc.strerror or exc}")]) from None
    return []


def load_corpus(paths: Iterable[Path]) -> list[SourceDocument]:
    """Every document under `paths`, or ContentInvalid listing every problem found."""
    docs: list[SourceDocument] = []
    errors: list[ContentError] = []
    for root, file in iter_files(paths):
        try:
            docs.extend(load_file(root, file))
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.id in seen:
            errors.append(
                ContentError(
                    path=doc.path,
                    field="id",
                    message=f"duplicate id {doc.id!r} (also in {seen[doc.id]})",
                )
            )
        seen.setdefault(doc.id, doc.path)
    if errors:
        raise ContentInvalid(errors)
    return docs
