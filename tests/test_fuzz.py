"""schemathesis against the app's own OpenAPI schema: no 5xx, responses match the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from rag.api import create_app

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(indexed_settings, pipeline, tmp_path_factory):
    import shutil

    from rag.pipeline import Pipeline

    # a private copy: fuzzing may add and delete documents
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    shutil.copytree(indexed_settings.data_dir, data_dir, dirs_exist_ok=True)
    settings = indexed_settings.model_copy(update={"data_dir": data_dir})
    app = create_app(settings, pipeline=Pipeline(settings))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case):
    case.call_and_validate(excluded_checks=[schemathesis.checks.ignored_auth]
                           if hasattr(schemathesis.checks, "ignored_auth") else [])
