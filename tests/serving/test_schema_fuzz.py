"""Property-based fuzzing of the serving API from its own OpenAPI document (schemathesis 4).

Every operation of ``/openapi.json`` gets generated requests (valid and invalid inputs), sent over real
HTTP to the API that ``api_server`` runs, authenticated as admin. Each response is checked:

- ``not_a_server_error``: never a 5xx;
- ``status_code_conformance``: the status is one the operation declares (the error statuses are
  declared on every router as ``errors.ERROR_RESPONSES``);
- ``content_type_conformance`` and ``response_schema_conformance``: the body is what the operation
  declares (the model of a 2xx, the ``{"error": {...}}`` shape of a 4xx);
- ``response_headers_conformance``, ``unsupported_method`` (an undeclared method is a 405),
  ``allow_header_conformance`` (the 405's ``Allow`` lists the path's methods) and
  ``missing_required_header``: schemathesis' defaults, kept;
- ``positive_data_acceptance`` and ``negative_data_rejection`` are off (``DISABLED_CHECKS`` says why).

Left out of the fuzz (``EXCLUDED``): operations that reach outside the process or would break the run:
logging an X account in (``POST /v1/accounts/{username}/login``: X / Google / IMAP), checking proxies
(``POST /v1/proxies/check``: outbound connections with timeouts), and changing or disabling the admin the
fuzz runs as (``PATCH``/``DELETE /v1/admin/users/{user_id}`` with the admin's own id: those cases are
skipped, the operations themselves are fuzzed). Only the admin's token is used: the fuzz may change the other
users' passwords and roles. GraphQL is fuzzed separately below.

Repeatable: ``derandomize=True`` (the same examples every run) and few examples per operation
(``MAX_EXAMPLES``) keep the file under a few minutes on 2 cores.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from xget_pipelines.serving.graphql import build_schema

MAX_EXAMPLES = 20

# positive_data_acceptance (a schema-valid request must not get 400/422) is off: the API validates what a
# JSON schema cannot say and answers it with a 4xx naming the field, which is right: opaque cursors it did not
# issue, a wrong current password, a refresh token that is not one, a proxy spec that does not parse, an
# account with neither password nor cookies, times outside 2006-2100. Those 4xx are still checked for their
# declared status and error shape; only "valid per schema => accepted" is not asserted.
#
# negative_data_rejection (a schema-violating request must get a 4xx) is off: pydantic validates in lax mode,
# so the API accepts harmless spellings the JSON schema does not list (``0``/``1`` for a boolean, a Unix time
# for a date, ``"5"`` for an integer) and answers them like the canonical values. Inputs it cannot use are
# still refused with a 4xx in the error shape, which status_code_conformance and response_schema_conformance
# check on every response.
DISABLED_CHECKS = [positive_data_acceptance, negative_data_rejection]

EXCLUDED = [
    ("POST", "/v1/accounts/{username}/login"),  # logs in at X (or Google, IMAP): external and slow
    ("POST", "/v1/proxies/check"),  # outbound connections through every proxy, with timeouts
]


def openapi_document() -> dict:
    """The app's OpenAPI document, from an app built on a throwaway home (at collection time: schemathesis'
    fixture-based lazy schemas do not work with pytest 9, so the operations are known before the server runs;
    ``test_the_fuzzed_document_is_the_served_one`` checks it is the document the server serves)."""
    import tempfile
    from pathlib import Path

    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.serving.app import create_app
    from xget_pipelines.settings import Settings

    with tempfile.TemporaryDirectory(prefix="xget-openapi-") as home:
        settings = Settings(
            home=Path(home),
            lake_uri=str(Path(home) / "lake"),
            database_url=f"sqlite:///{Path(home) / 'xget.db'}",
        )
        document = create_app(settings).openapi()
        get_engine(settings.resolved_database_url).dispose()
    return document


DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
for _method, _path in EXCLUDED:
    schema = schema.exclude(method=_method, path=_path)
schema = schema.exclude(path_regex=r"^/v1/graphql")


def test_the_fuzzed_document_is_the_served_one(api_server):
    import httpx

    assert httpx.get(f"{api_server.base_url}/openapi.json", timeout=30).json() == DOCUMENT


def _touches_the_fuzzing_admin(case, admin_id: int) -> bool:
    if case.method.upper() not in ("PATCH", "DELETE") or case.path != "/v1/admin/users/{user_id}":
        return False
    try:
        return int((case.path_parameters or {}).get("user_id")) == admin_id
    except (TypeError, ValueError):
        return False


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_openapi_fuzz(case, api_server):
    hypothesis.assume(not _touches_the_fuzzing_admin(case, api_server.users["admin"].id))
    if case.headers:  # the X-API-Key security scheme makes schemathesis invent keys; the fuzz runs as admin
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "x-api-key"}
    case.call_and_validate(
        base_url=api_server.base_url,
        headers=api_server.headers("admin"),
        timeout=60,
        excluded_checks=DISABLED_CHECKS,
    )


# -- GraphQL ---------------------------------------------------------------------------------------------
# The schema /v1/graphql serves, as SDL from the same builder the router uses (known at collection time, as
# above); ``test_the_fuzzed_graphql_schema_is_the_served_one`` compares it with introspection over HTTP.
# Checks: never a 5xx, the body is a GraphQL response (a JSON object with data and/or errors), and no error
# is an unexpected one (extensions.code INTERNAL: what the API masks a resolver's crash to). Errors that are
# answers (NOT_FOUND, BAD_USER_INPUT, FORBIDDEN, the query limits) are fine; schemathesis' own GraphQL
# "server error" check would count every error with a path as a crash, so it is not used.

GRAPHQL_SDL = build_schema().as_str()
graphql_schema = schemathesis.graphql.from_file(GRAPHQL_SDL)


def no_unexpected_graphql_error(ctx, response, case):
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    payload = response.json()
    assert isinstance(payload, dict) and ("data" in payload or "errors" in payload), response.text[:500]
    internal = [
        e
        for e in payload.get("errors") or []
        if (e.get("extensions") or {}).get("code") in ("INTERNAL", "INTERNAL_SERVER_ERROR")
    ]
    assert not internal, (
        f"unexpected errors (masked crashes; see the server log for the traceback): {internal}"
    )


def test_the_fuzzed_graphql_schema_is_the_served_one(api_server):
    import graphql
    import httpx

    rep = httpx.post(
        f"{api_server.base_url}/v1/graphql",
        headers=api_server.headers("admin"),
        timeout=30,
        json={
            "query": graphql.get_introspection_query(
                specified_by_url=True, directive_is_repeatable=True, input_value_deprecation=True
            )
        },
    )
    assert rep.status_code == 200, rep.text[:500]

    def printed(schema) -> str:
        return graphql.print_schema(graphql.lexicographic_sort_schema(schema))

    assert printed(graphql.build_client_schema(rep.json()["data"])) == printed(
        graphql.build_schema(GRAPHQL_SDL)
    )


def test_the_graphql_fuzz_covers_every_query_and_mutation():
    """schemathesis fuzzes one operation per field of Query and Mutation: none is left out (a field whose
    arguments it could not generate would be), the backfill ones (startBackfill, cancelBackfill, backfill)
    included."""
    import graphql

    schema = graphql.build_schema(GRAPHQL_SDL)
    fields = {f"Query.{name}" for name in schema.query_type.fields}
    fields |= {f"Mutation.{name}" for name in schema.mutation_type.fields}
    fuzzed = {result.ok().label for result in graphql_schema.get_all_operations()}
    assert (
        fuzzed == fields and {"Mutation.startBackfill", "Mutation.cancelBackfill", "Query.backfill"} <= fuzzed
    )


@graphql_schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_graphql_fuzz(case, api_server):
    case.call_and_validate(
        base_url=f"{api_server.base_url}/v1/graphql",
        headers=api_server.headers("admin"),
        timeout=60,
        checks=[no_unexpected_graphql_error],
    )
