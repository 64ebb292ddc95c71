"""Schemathesis against the live app's ``/api/v1/openapi.json`` (REST and ``/sdapi/v1``): bad input is never a 5xx.

Every operation of the schema gets a bounded number of generated requests, valid and invalid by the schema,
once as a visitor and once with a Bearer token. Only what the API promises for any input is asserted: never a
5xx, and errors are JSON ``{"error": ...}``. As the user, ``logout`` (it would end the session the run uses) and
the two txt2img operations (valid sizes run real generations) are left out; the visitor run covers them.

The operations are driven through schemathesis' Python API (each one's hypothesis strategy) rather than its
pytest plugin, whose fixture-loaded schemas do not work with this pytest.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import bearer, register

EXAMPLES = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
USER_SKIPS = re.compile(r"(/auth/logout|/txt2img)$")


@pytest.fixture(scope="module")
def operations(server):
    schema = schemathesis.openapi.from_url(server.api("/api/v1/openapi.json"), timeout=60)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) > 40, "the schema lost most of its operations"
    return found


def requests_for(operation):
    """Requests the schema allows and requests it does not."""
    return st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                     operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))


def check_reply(case, reply) -> None:
    where = f"{case.method} {case.formatted_path} -> {reply.status_code}: {reply.text[:300]}"
    assert reply.status_code < 500, where
    if reply.status_code >= 400:
        assert (reply.headers.get("content-type") or [""])[0].startswith("application/json"), where
        assert isinstance(reply.json().get("error"), str), where


def fuzz(operation, headers: dict[str, str]) -> None:
    @EXAMPLES
    @given(requests_for(operation))
    def one_request(case):
        check_reply(case, case.call(headers=headers, timeout=60))

    one_request()


def fuzz_all(operations, headers: dict[str, str], skip=None) -> list[str]:
    """Fuzz every operation; the failures, one line each (so one run reports them all)."""
    failures = []
    for operation in operations:
        if skip is not None and skip.search(operation.path):
            continue
        try:
            fuzz(operation, headers)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    return failures


def test_any_request_as_a_visitor_gets_no_5xx(operations):
    assert fuzz_all(operations, {}) == []


def test_any_request_as_a_user_gets_no_5xx(server, operations):
    assert fuzz_all(operations, bearer(register(server)["token"]), USER_SKIPS) == []
