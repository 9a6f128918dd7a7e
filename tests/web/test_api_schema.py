"""schemathesis against the OpenAPI document, with a valid key: no 5xx, no response that
breaks its own schema. Driven through its Python API (its pytest plugin and pytest 9 do not
agree yet), one Hypothesis run per operation."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.models.enums import Role
from app.services.accounts.api_keys import create_key
from tests.factories import make_department, make_record, make_user

# What the API promises: no server error, and every answer as its document says. (Requests
# that fit the schema may still be refused for their content, e.g. a wrong check character.)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]



@pytest.mark.slow
def test_the_api_keeps_its_own_promises(app, db):
    department = make_department()
    make_user(Role.DEPARTMENT, department=department)
    make_record(department=department)
    _key, token = create_key(department, "schemathesis")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        exercise()
