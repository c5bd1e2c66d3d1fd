"""The OpenAPI document against the running app (in process, over ASGI): every operation, fed generated valid and
invalid requests, answers only with a status code and content type its document declares, a body that fits the
declared schema, and never a 5xx.

Bounded for CI: a fixed number of examples per operation, derandomised (the same cases every run).
"""
from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from channels.email import EmailAdapter, SmtpSettings
from channels.line import LineAdapter
from channels.voice import VoiceAdapter
from madoguchi.app import ROUTERS, create_app
from storage.testing import temporary_database
from tests.api.fakes import FakeEngine
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, PUBLIC_BASE, TWILIO_AUTH, TWILIO_SID, make_services, tenant_channels,
)

EXAMPLES_PER_OPERATION = 10


@schemathesis.check
def no_server_error(ctx, response, case) -> bool | None:
    """No 5xx, except a 503 the operation documents (/readyz when not ready: that is its answer)."""
    documented = case.operation.definition.raw.get("responses", {})
    status = response.status_code
    if status >= 500 and (status == 500 or str(status) not in documented):
        raise AssertionError(f"{status} from {case.method} {case.formatted_path}: {response.text[:300]}")
    return None


CHECKS = [no_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    """The whole app on SQLite with LINE, voice and e-mail on for tokyo (the fake engine answers)."""
    tmp_path = tmp_path_factory.mktemp("openapi")
    adapters = {
        "line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host="http://127.0.0.1:9"),
        "voice": VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE),
        "email": EmailAdapter("tokyo", "soudan@city.example.lg.jp", SmtpSettings(host="127.0.0.1", port=9)),
    }
    with temporary_database("sqlite", tmp_path) as db:
        channels = {"tokyo": tenant_channels("tokyo", adapters)}
        services = make_services(db, tmp_path, engine=FakeEngine(), channels=channels)
        yield create_app(services, start_background=False)


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


def documented_operations() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation the document lists (the routers alone: nothing to build to collect).
    Invalid requests only where there is something to make invalid: a body or a query parameter."""
    app = FastAPI()
    for router in ROUTERS:
        app.include_router(router)
    cases = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize("method, path, mode", documented_operations(),
                         ids=lambda value: value.value if isinstance(value, GenerationMode) else value)
def test_every_operation_answers_as_documented(api_schema, method, path, mode, record_property):
    operation = api_schema[path][method]
    tried = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        tried.append(case)
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()
    record_property("attacks", len(tried))  # bench/hostile.py counts the invalid ones as malformed payloads
