"""The one settings object: every knob comes from `RAG_*` env vars (or `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS_DIR = REPO_ROOT / "index" / "corpus"

Backend = Literal["extractive", "local", "openai"]
RetrievalMode = Literal["hybrid", "dense", "bm25"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(REPO_ROOT / ".rag", description="Chroma store, document texts, caches.")
    corpus_dir: Path = Field(DEFAULT_CORPUS_DIR, description="The sample: indexed on the first start of a fresh data dir, and by `rag index --sample`.")
    chroma_url: str | None = Field(None, description="Chroma server URL; unset means an embedded store in data_dir.")
    collection: str = "rag_chunks"

    backend: Backend = Field("local", description="The local model: most correct and best at refusing on the dev set (extractive: 35 ms, quotes).")
    retrieval_mode: RetrievalMode = "hybrid"
    top_k: int = Field(5, ge=1, le=50)
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(2.0, ge=0, description="RRF weight of the BM25 side (dense is 1), scaled by how many query words the corpus knows.")

    refusal_threshold: float = Field(0.55, ge=0, le=2, description="Chinese question: best evidence score below this → refuse.")
    refusal_threshold_en: float = Field(0.40, ge=0, le=2, description="The same for questions in English (cross-lingual scores run lower).")

    llm_model_path: Path | None = Field(None, description="A GGUF file for the local backend (default: the bundled Qwen2.5-Coder-1.5B).")
    llm_threads: int = Field(2, ge=1)
    llm_context: int = Field(4096, ge=512)
    llm_max_tokens: int = Field(200, ge=16, le=2048)
    llm_base_url: str | None = Field(None, description="OpenAI-compatible server for the openai backend, e.g. http://127.0.0.1:8080/v1")
    llm_model: str = "default"
    llm_api_key: str = Field("not-needed", repr=False)
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before an LLM request is abandoned (then: extractive fallback).")
    llm_retries: int = Field(1, ge=0)
    llm_max_waiting: int = Field(8, ge=0, description="Questions that may queue for the local model; more are answered at once by quoting the sources.")

    chunk_min_chars: int = Field(150, ge=20)
    chunk_max_chars: int = Field(300, ge=40)
    embed_threads: int = Field(1, ge=1)
    embed_batch_size: int = Field(16, ge=1)


    api_key: str | None = Field(None, repr=False, description="When set, every endpoint but /healthz needs `Authorization: Bearer <key>`.")
    admin_key: str | None = Field(None, repr=False, description="When set, adding or deleting documents needs this key instead.")
    max_upload_mb: float = Field(10.0, gt=0, description="Largest document upload.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (off when empty).")

    ui_examples: list[str] = Field(default_factory=list, description="Example questions on the page (JSON list); "
                                   "empty: built from the indexed documents.")

    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_path(self) -> Path:
        return self.data_dir / "models"


@lru_cache
def get_settings() -> Settings:
    return Settings()
