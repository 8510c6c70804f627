"""The GraphQL API at ``/v1/graphql`` (Strawberry): the same reads, permissions and errors as REST.

Types and resolvers are in ``graphql_types.py``; this module authenticates, limits and serves them.

Authentication is REST's (``deps.current_principal``): ``Authorization: Bearer <token or API key>`` or
``X-API-Key``, checked in the context getter, so a request without valid credentials gets a 401 in the
API's JSON error shape before GraphQL runs, and each request takes one token of the principal's rate-limit
bucket (429 with ``Retry-After``). Only the GraphiQL page itself (a browser's GET without ``query``) is
served without credentials; its queries send them (GraphiQL's headers pane).

Limits, because one GraphQL request can ask for what would be thousands of REST calls, and every one of
them is checked before anything executes (the answer is then ``errors`` and no ``data``):

- depth at most 8 (``QueryDepthLimiter``): nesting is what multiplies work, and 8 allows
  ``tweets { edges { node { author { tweets { edges { node { ... } } } } } } }``;
- cost at most 10,000 (``QueryCostLimiter`` below): the sum over list fields of their ``first`` multiplied
  along nesting, so ``tweets(first: 100) { ... author { tweets(first: 100) } }`` costs 100 + 100 x 100
  = 10,100 and is refused; variables and defaults count as they will execute. A successful answer reports
  its cost in ``extensions.cost``;
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

import logging
from collections.abc import Mapping
from functools import partial

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
from xget_pipelines.serving.graphql_types import SCALARS, Context, Query
from xget_pipelines.serving.state import state

log = logging.getLogger("xget.api.graphql")

MAX_DEPTH = 8
MAX_COST = 10_000
MAX_ALIASES = 30
MAX_TOKENS = 2_000


# -- cost ------------------------------------------------------------------------------------------------


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping | None = None,
) -> int:
    """The cost of the operation that would run: every field with a ``first`` argument adds ``first`` times
    the product of the ``first`` of the list fields around it. Linear in the document's size (a fragment's
    cost is computed once: cost is linear in the multiplier)."""
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
        f"query cost {cost:,} exceeds the limit of {limit:,}: cost is the sum over list fields of their "
        "`first`, multiplied along nesting; ask for smaller pages or nest fewer lists, and page with `after`",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limit},
    )


class QueryCostLimiter(SchemaExtension):
    """Refuses, at validation, an operation whose ``query_cost`` is above ``max_cost``."""

    def __init__(self, max_cost: int = MAX_COST):
        self.max_cost = max_cost
        self.cost: int | None = None

    def on_operation(self):
        limiter = self

        class QueryCostRule(ValidationRule):
            def __init__(self, context: ValidationContext):
                super().__init__(context)
                ec = limiter.execution_context
                limiter.cost = query_cost(context.schema, context.document, ec.operation_name, ec.variables)
                if limiter.cost > limiter.max_cost:
                    context.report_error(too_costly(limiter.cost, limiter.max_cost))

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


class XGetSchema(strawberry.Schema):
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
    if _graphiql_page(request):
        return Context(state(request), None)
    return Context(state(request), await current_principal(request, bearer, api_key))


def build_schema(
    max_depth: int = MAX_DEPTH,
    max_cost: int = MAX_COST,
    max_aliases: int = MAX_ALIASES,
    max_tokens: int = MAX_TOKENS,
) -> strawberry.Schema:
    # Extensions as factories: each request gets its own instances (they hold per-request state).
    return XGetSchema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            partial(MaxTokensLimiter, max_token_count=max_tokens),
            partial(QueryDepthLimiter, max_depth=max_depth),
            partial(MaxAliasesLimiter, max_alias_count=max_aliases),
            partial(QueryCostLimiter, max_cost=max_cost),
            MaskUnexpectedErrors,
        ],
    )


class XGetGraphQLRouter(GraphQLRouter):
    def parse_json(self, data: str | bytes):
        """A GraphQL request is a JSON object (a list is a batch, refused later): ``"x"``, ``1`` or ``null``
        is the client's error, a 400, not a crash on reading it."""
        try:
            parsed = super().parse_json(data)
        except UnicodeDecodeError as exc:
            raise TransportError(400, "the request body is not UTF-8 JSON") from exc
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


def graphql_router(max_depth: int = MAX_DEPTH, max_cost: int = MAX_COST) -> GraphQLRouter:
    """The router ``app.py`` mounts at ``/v1/graphql``: queries by POST (or GET), GraphiQL on a browser's
    GET."""
    router = XGetGraphQLRouter(
        build_schema(max_depth, max_cost),
        path="",
        context_getter=get_context,
        graphql_ide="graphiql",
        subscription_protocols=(),
    )
    router.routes[:] = [r for r in router.routes if not isinstance(r, APIWebSocketRoute)]  # no subscriptions
    return router
