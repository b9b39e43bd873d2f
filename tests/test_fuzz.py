"""schemathesis against the app's own OpenAPI schema, every endpoint: no 5xx, responses match the schema."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKS = ",".join([
    "not_a_server_error",            # never a 5xx
    "status_code_conformance",      # every status is documented
    "content_type_conformance",
    "response_schema_conformance",  # every body matches its schema
    "negative_data_rejection",      # schema-violating input is rejected
])


def test_schemathesis_finds_no_failures(indexed_copy, server_factory):
    # a private copy of the store: the fuzzer adds and deletes documents
    _, url = server_factory(indexed_copy, RAG_MAX_UPLOAD_MB="0.02")  # small uploads keep indexing quick
    st = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run([str(st), "run", f"{url}/openapi.json", "--checks", CHECKS, "--max-examples", "25", "--request-timeout", "120",
                          "--seed", "1", "--no-color"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:]
    assert "generated" in run.stdout
