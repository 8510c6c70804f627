"""The GraphQL API at ``/v1/graphql`` (Strawberry): the same reads, permissions and errors as REST.

Types and resolvers are in ``graphql_types.py``; this module authenticates, limits and serves them.

Authentication is REST's (``deps.current_principal``): ``Authorization: Bearer <token or API key>`` or
``X-API-Key``, checked in the context getter, so a request without valid credentials gets a 401 in the
API's JSON error shape before GraphQL runs, and each request takes one token of the principal's rate-limit
bucket (429 with ``Retry-After``). Only the GraphiQL page itself (a browser's GET without ``query``) is
served without credentials; its queries send them (GraphiQL's headers pane).

A query is charged by its cost, not as one request: once validated, it takes ``cost / 100``
(``XGET_API_GRAPHQL_COST_PER_REQUEST``) tokens of the principal's bucket in all, at most the burst, so a
query of cost 5,000 counts as 50 REST requests; over the limit the answer is a 429 with ``Retry-After``
and the error code RATE_LIMITED, and nothing executes.

Operations execute on an event loop of their own, in a thread (``OperationPool``), at most
``XGET_API_GRAPHQL_WORKERS`` at once; their lake reads run in that loop's threads. The API's own loop
only authenticates, hands the operation over and sends the answer, so a costly query (tens of thousands of
resolver calls) cannot hold up plain REST reads: measured by ``tests/security/test_graphql_cost.py`` and
``bench/api.py --graphql``. Before, the same query ran on the API's loop and a REST read waited seconds.

Limits, because one GraphQL request can ask for what would be thousands of REST calls, and every one of
them is checked before anything executes (the answer is then ``errors`` and no ``data``):

- depth at most 8 (``QueryDepthLimiter``): nesting is what multiplies work, and 8 allows
  ``tweets { edges { node { author { tweets { edges { node { ... } } } } } } }``;
- cost at most 10,000 (``QueryCostLimiter`` below): what the query makes the server do, multiplied along
  nesting. A list field costs its ``first`` (the items it builds) and a field that reads the lake (it has a
  resolver: ``author``, ``sentiment``, ``profile``, ``similar``, ``tweets``...) costs 1 for every node it
  is asked on, batched or not (each still builds its objects); plain fields cost nothing. So
  ``tweets(first: 500) { edges { node { author { profile { userId } } } } }`` costs 1 + 500 + 500 x 2 =
  1,501, and ``tweets(first: 100) { ... author { tweets(first: 100) } }`` costs
  1 + 100 + 100 x (1 + 1 + 100) = 10,301 and is refused; variables and defaults count as they will execute.
  A successful answer reports its cost in ``extensions.cost``;
- ``first`` at most 500 on a page (like REST's ``limit``), at most 30 aliases (``MaxAliasesLimiter``: aliases
  repeat a field without nesting) and 2,000 tokens in a document (``MaxTokensLimiter``: bounds the work of
  parsing and validating);
- no batched operations and no subscriptions (no websocket endpoint); a request that is not GraphQL (a body
  that is not JSON, no query) is a 400 in the API's error shape.

Errors: a core error is a GraphQL error with ``extensions.code`` (NOT_FOUND, BAD_USER_INPUT with ``field``,
CONFLICT, UNAVAILABLE, FORBIDDEN); limits say QUERY_TOO_COSTLY or the limiter's message. Anything else
is masked to "unexpected error" with code INTERNAL and the request id (logged with its traceback here,
never sent). GraphiQL and introspection stay on: the schema is no secret and they make the API usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Coroutine, Mapping
from functools import partial

import anyio
import orjson
import strawberry
from cross_web import HTTPException as TransportError
from fastapi import Depends, Request
from fastapi.routing import APIWebSocketRoute
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.types.unset import UNSET

from xget_pipelines.serving.deps import api_key_header, current_principal, oauth2
from xget_pipelines.serving.errors import ApiError
from xget_pipelines.serving.graphql_mutations import Mutation
from xget_pipelines.serving.graphql_types import SCALARS, Context, Query
from xget_pipelines.serving.limits import RateLimiter
from xget_pipelines.serving.state import state

log = logging.getLogger("xget.api.graphql")

MAX_DEPTH = 8
MAX_COST = 10_000
MAX_ALIASES = 30
MAX_TOKENS = 2_000
COST_PER_REQUEST = 100
WORKERS = 2
NICE = 10  # the pool thread's niceness, above the API's 0


# -- cost ------------------------------------------------------------------------------------------------


def _reads(field) -> bool:
    """Whether a schema field has a resolver of its own (it reads the lake or the control plane), rather than
    being an attribute of its parent's object."""
    definition = (field.extensions or {}).get("strawberry-definition")
    return getattr(definition, "base_resolver", None) is not None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping | None = None,
) -> int:
    """The cost of the operation that would run: every field with a ``first`` argument adds ``first``, and
    every field with a resolver adds 1, each times the product of the ``first`` of the list fields around
    it. Linear in the document's size (a fragment's cost is computed once: cost is linear in the
    multiplier)."""
    variables = variables or {}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    roots = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    fragment_costs: dict[str, int] = {}

    def integer(value) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def first_of(node: FieldNode, default, defaults: dict) -> int:
        for arg in node.arguments or ():
            if arg.name.value == "first":
                if isinstance(arg.value, VariableNode):
                    name = arg.value.name.value
                    value = integer(variables.get(name, defaults.get(name)))
                else:
                    value = integer(value_from_ast_untyped(arg.value))
                if value is not None:
                    return max(value, 0)
        return max(integer(default) or 0, 0)

    def unit(selection_set: SelectionSetNode | None, parent, defaults: dict, visiting: frozenset) -> int:
        total = 0
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                field = getattr(parent, "fields", {}).get(sel.name.value)
                if field is None:  # __typename, introspection, or unknown (validation reports it)
                    continue
                inner = unit(sel.selection_set, get_named_type(field.type), defaults, visiting)
                total += 1 if _reads(field) else 0
                if "first" in field.args:
                    size = first_of(sel, field.args["first"].default_value, defaults)
                    total += size + size * inner
                else:
                    total += inner
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition and schema.get_type(sel.type_condition.name.value)
                total += unit(sel.selection_set, cond or parent, defaults, visiting)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name in visiting or name not in fragments:  # a cycle or unknown: validation reports it
                    continue
                if name not in fragment_costs:
                    frag = fragments[name]
                    cond = schema.get_type(frag.type_condition.name.value) or parent
                    fragment_costs[name] = unit(frag.selection_set, cond, defaults, visiting | {name})
                total += fragment_costs[name]
        return total

    costs = [0]
    for op in operations:
        defaults = {
            v.variable.name.value: value_from_ast_untyped(v.default_value)
            for v in op.variable_definitions or ()
            if v.default_value is not None
        }
        fragment_costs.clear()  # variables' defaults differ between operations
        costs.append(unit(op.selection_set, roots.get(op.operation), defaults, frozenset()))
    return max(costs)


def too_costly(cost: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"query cost {cost:,} exceeds the limit of {limit:,}: a list costs its `first` and a field that "
        "reads data (author, profile, similar, sentiment, tweets) 1 per node, multiplied along nesting; ask "
        "for smaller pages, nest fewer lists or fewer such fields, and page with `after`",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limit},
    )


def rate_limited(cost: int, tokens: int, wait_s: float) -> GraphQLError:
    return GraphQLError(
        f"rate limit reached: this query costs {cost:,}, which counts as {tokens} requests of your rate "
        "limit; retry after the Retry-After seconds, or ask for less (smaller pages, fewer nested fields)",
        extensions={"code": "RATE_LIMITED", "cost": cost, "retryAfter": RateLimiter.retry_after(wait_s)},
    )


def charge(context, cost: int, cost_per_request: int) -> GraphQLError | None:
    """Take the query's cost from the principal's rate-limit bucket (the request itself took one token when
    it was authenticated); an error, and the response made a 429 with ``Retry-After``, when it is empty."""
    st, principal = getattr(context, "state", None), getattr(context, "principal", None)
    if st is None or principal is None:
        return None
    limiter = st.limiter
    tokens = min(max(1, math.ceil(cost / cost_per_request)), int(limiter.burst))
    wait = limiter.take(principal.rate_key, tokens - 1) if tokens > 1 else 0.0
    if not wait:
        return None
    response = getattr(context, "response", None)
    if response is not None:
        response.status_code = 429
        response.headers["Retry-After"] = limiter.retry_after(wait)
    return rate_limited(cost, tokens, wait)


class QueryCostLimiter(SchemaExtension):
    """Refuses, at validation, an operation whose ``query_cost`` is above ``max_cost``, and charges the
    principal's rate limit for the cost of the others (``charge``)."""

    def __init__(self, max_cost: int = MAX_COST, cost_per_request: int = COST_PER_REQUEST):
        self.max_cost = max_cost
        self.cost_per_request = cost_per_request
        self.cost: int | None = None

    def on_operation(self):
        limiter = self

        class QueryCostRule(ValidationRule):
            def __init__(self, context: ValidationContext):
                super().__init__(context)
                ec = limiter.execution_context
                limiter.cost = query_cost(context.schema, context.document, ec.operation_name, ec.variables)
                if isinstance(ec.context, Context):
                    ec.context.cost = limiter.cost
                if limiter.cost > limiter.max_cost:
                    context.report_error(too_costly(limiter.cost, limiter.max_cost))
                elif error := charge(ec.context, limiter.cost, limiter.cost_per_request):
                    context.report_error(error)

        self.execution_context.validation_rules = (*self.execution_context.validation_rules, QueryCostRule)
        yield

    def get_results(self) -> dict:
        return {"cost": {"estimated": self.cost, "limit": self.max_cost}} if self.cost is not None else {}


# -- errors ----------------------------------------------------------------------------------------------


def _unexpected(error: GraphQLError) -> bool:
    """An exception a resolver raised that is not one of ours (core errors arrive as GraphQLErrors)."""
    return (
        error.path is not None
        and error.original_error is not None
        and not isinstance(error.original_error, GraphQLError)
    )


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self):
        super().__init__(
            should_mask_error=_unexpected,
            error_message="unexpected error; quote the request id when reporting it",
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        request = getattr(self.execution_context.context, "request", None)
        masked.extensions = {
            "code": "INTERNAL",
            "request_id": getattr(request.state, "request_id", None) if request else None,
        }
        return masked


# -- metrics ---------------------------------------------------------------------------------------------

_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_NAMES = 200


class OperationMetrics(SchemaExtension):
    """Counts and times each operation by its name (``xget_api_graphql_operations_total`` and
    ``..._duration_seconds``, with its cost in ``..._cost``): every GraphQL request has the same route, so the
    route label alone says nothing. Names are the client's: one that is not a GraphQL name is ``invalid``, an
    unnamed operation ``anonymous``, and past 200 distinct names the rest are ``other`` (a client cannot
    grow the metrics without bound)."""

    def on_operation(self):
        started = time.perf_counter()
        yield
        ec = self.execution_context
        request = getattr(ec.context, "request", None)
        metrics = getattr(getattr(getattr(request, "app", None), "state", None), "metrics", None)
        if metrics is None:
            return
        result = ec.result
        errors = getattr(result, "errors", None) or ec.pre_execution_errors or []
        codes = {(e.extensions or {}).get("code") for e in errors}
        outcome = (
            "refused" if getattr(result, "data", None) is None and errors else "error" if errors else "ok"
        )
        if "RATE_LIMITED" in codes:
            outcome = "rate_limited"
        cost = getattr(ec.context, "cost", None)
        metrics.observe_graphql(
            self.label(ec.operation_name, metrics), outcome, time.perf_counter() - started, cost
        )

    @staticmethod
    def label(name: str | None, metrics) -> str:
        if not name:
            return "anonymous"
        if not _OPERATION_NAME.fullmatch(name):
            return "invalid"
        seen = metrics.graphql_names
        if name not in seen and len(seen) >= MAX_OPERATION_NAMES:
            return "other"
        seen.add(name)
        return name


# -- execution off the API's event loop ----------------------------------------------------------------


class OperationPool:
    """Runs GraphQL operations on an event loop of its own, in a thread of its own, at most ``size`` at once
    (the others wait, costing nothing but a place in the queue). Their resolvers' lake reads run in that
    loop's threads. Started on the first operation, stopped with the application."""

    def __init__(self, size: int = WORKERS):
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: anyio.CapacityLimiter | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._serve, args=(loop,), name="xget-graphql", daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        """The pool's thread: a lower CPU priority than the API's (Linux schedules threads, and a thread may
        lower its own), so when the cores are busy the requests of the API's loop go first."""
        with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: equal priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        asyncio.set_event_loop(loop)
        loop.run_forever()

    async def run(self, operation: Coroutine):
        if self._slots is None:
            self._slots = anyio.CapacityLimiter(self.size)
        async with self._slots:
            future = asyncio.run_coroutine_threadsafe(operation, self._running_loop())
            return await asyncio.wrap_future(future)  # cancelled with the request: cancels the operation

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._slots = self._loop, self._thread, None, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=5)
            if not loop.is_running():
                loop.close()


class XGetSchema(strawberry.Schema):
    pool: OperationPool | None = None

    async def execute(self, *args, **kwargs):
        """Every operation (parse, validate, execute) on the pool's loop, not the API's."""
        if self.pool is None:
            return await super().execute(*args, **kwargs)
        return await self.pool.run(super().execute(*args, **kwargs))

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        """Log the unexpected errors with their traceback (the client gets them masked); the others are
        answers (not found, bad input, limits), not faults."""
        for error in errors:
            if _unexpected(error):
                log.error(
                    "unexpected error in GraphQL field %s",
                    ".".join(map(str, error.path)),
                    exc_info=error.original_error,
                )


# -- the router ------------------------------------------------------------------------------------------


def _graphiql_page(request: Request) -> bool:
    """Whether Strawberry will answer with the GraphiQL page (its rule), which needs no credentials."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


async def get_context(
    request: Request, bearer: str | None = Depends(oauth2), api_key: str | None = Depends(api_key_header)
) -> Context:
    request.state.route = "/v1/graphql"  # the metrics' route label (gateway.py); operations have their own
    if _graphiql_page(request):
        return Context(state(request), None)
    return Context(state(request), await current_principal(request, bearer, api_key))


def build_schema(
    max_depth: int = MAX_DEPTH,
    max_cost: int = MAX_COST,
    max_aliases: int = MAX_ALIASES,
    max_tokens: int = MAX_TOKENS,
    cost_per_request: int = COST_PER_REQUEST,
    pool: OperationPool | None = None,
) -> strawberry.Schema:
    # Extensions as factories: each request gets its own instances (they hold per-request state).
    schema = XGetSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            OperationMetrics,
            partial(MaxTokensLimiter, max_token_count=max_tokens),
            partial(QueryDepthLimiter, max_depth=max_depth),
            partial(MaxAliasesLimiter, max_alias_count=max_aliases),
            partial(QueryCostLimiter, max_cost=max_cost, cost_per_request=cost_per_request),
            MaskUnexpectedErrors,
        ],
    )
    schema.pool = pool
    return schema


class XGetGraphQLRouter(GraphQLRouter):
    def encode_json(self, data: object) -> bytes:
        """orjson, on the API's loop: an answer of 10,000 nodes (2.9 MB) took the standard library 32 ms,
        during which no other request moved; orjson takes 4 ms."""
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes):
        """A GraphQL request is a JSON object (a list is a batch, refused later): ``"x"``, ``1`` or ``null``
        is the client's error, a 400, not a crash on reading it."""
        try:
            parsed = super().parse_json(data)
        except UnicodeDecodeError as exc:
            raise TransportError(400, "the request body is not UTF-8 JSON") from exc
        except RecursionError as exc:  # "[[[[...": the parser gives up before the nesting ends
            raise TransportError(
                400, "the request body is JSON nested too deep to be a GraphQL request"
            ) from exc
        if not isinstance(parsed, dict | list):
            raise TransportError(
                400, 'a GraphQL request is a JSON object: {"query": "...", "variables": {...}}'
            )
        return parsed

    async def run(self, request, context=UNSET, root_value=UNSET):
        """Requests that are not GraphQL (a body that is not JSON, no query, a batch) answer in the API's
        error shape rather than Strawberry's plain text."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except TransportError as exc:
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
            raise ApiError(exc.status_code, code, exc.reason) from exc


def graphql_router(
    max_depth: int = MAX_DEPTH,
    max_cost: int = MAX_COST,
    cost_per_request: int = COST_PER_REQUEST,
    pool: OperationPool | None = None,
) -> GraphQLRouter:
    """The router ``app.py`` mounts at ``/v1/graphql``: queries by POST (or GET), GraphiQL on a browser's
    GET; operations run on ``pool`` (the API's loop if None)."""
    router = XGetGraphQLRouter(
        build_schema(max_depth, max_cost, cost_per_request=cost_per_request, pool=pool),
        path="",
        context_getter=get_context,
        graphql_ide="graphiql",
        subscription_protocols=(),
    )
    router.routes[:] = [r for r in router.routes if not isinstance(r, APIWebSocketRoute)]  # no subscriptions
    return router
