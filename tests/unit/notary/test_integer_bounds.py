"""Every integer a request carries (path, query, body) is bounded by its type before it reaches
storage, and a path or query integer has one spelling (``domain/scalars.py``).

Before: ``GET /v1/pledges/{id}`` (public), the amend, release and enforce routes and
``/log/tile/...`` with an index of seven groups answered 500 for an integer past 2**63 - 1 (the
database's 64-bit columns), and ``" 6"``, ``"+6"``, ``"6_0"`` (sixty) were taken as path integers.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipnotary.service.domain.scalars import MAX_STORED_INT
from tests.unit.notary.conftest import Api

PAST = [str(2**63), str(2**64), "1" + "0" * 21]


def _integers(schema: Any, components: dict[str, Any], where: str, seen: set[str]) -> list[Any]:
    """(where, schema) of every integer in ``schema``, following ``$ref``s once each."""
    out: list[Any] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                out += _integers(components.get(name, {}), components, f"{where}>{name}", seen)
            return out
        if schema.get("type") == "integer":
            out.append((where, schema))
        for key, value in schema.items():
            if key in {"properties"} and isinstance(value, dict):
                for prop, sub in value.items():
                    out += _integers(sub, components, f"{where}.{prop}", seen)
            elif key in {"items", "anyOf", "oneOf", "allOf", "additionalProperties"}:
                for sub in value if isinstance(value, list) else [value]:
                    out += _integers(sub, components, where, seen)
    return out


def _within_64_bits(maximum: Any) -> bool:
    # FastAPI writes body schemas' bounds as floats: 2**63 - 1 reads back as 2.0**63
    return isinstance(maximum, int | float) and (
        maximum <= MAX_STORED_INT or maximum == float(MAX_STORED_INT)
    )


def test_every_integer_of_every_request_is_bounded(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            found = []
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                found += _integers(parameter.get("schema", {}), components, where, set())
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                where = f"{method.upper()} {path} body ({media})"
                found += _integers(content.get("schema", {}), components, where, set())
            unbounded += [
                where
                for where, schema in found
                if "minimum" not in schema or not _within_64_bits(schema.get("maximum"))
            ]
    assert not unbounded, "integers without a minimum and a 64-bit maximum:\n" + "\n".join(
        sorted(set(unbounded))
    )


@pytest.mark.parametrize("value", PAST)
def test_a_pledge_id_past_64_bits_is_refused_not_a_server_error(api: Api, value: str) -> None:
    h = api.principal("bounds-registrar", "pledge_registrar")
    assert api.client.get(f"/v1/pledges/{value}").status_code == 422
    for action in ("amendments", "release", "enforcement"):
        r = api.client.post(f"/v1/pledges/{value}/{action}", json={}, headers=h)
        assert r.status_code == 422, (action, r.text)


@pytest.mark.parametrize("spelling", [" 6", "6 ", "+6", "6_0", "06", "6.0", "\u0666", "-1"])
def test_a_path_integer_has_one_spelling(api: Api, spelling: str) -> None:
    r = api.client.get(f"/v1/pledges/{spelling}")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["path", "pledge_id"]
    assert api.client.get(f"/v1/log/checkpoints/{spelling}").status_code == 422
    assert (
        api.client.get("/v1/log/proofs/inclusion", params={"leaf_index": spelling, "tree_size": 9})
    ).status_code == 422


def test_a_tile_index_of_seven_groups_is_no_tile(api: Api) -> None:
    r = api.client.get("/log/tile/0/x999/x999/x999/x999/x999/x999/999")
    assert r.status_code == 404, r.text  # was 500: 10**21 - 1 reached the 64-bit column
    assert r.json()["code"] == "no_tile"
    assert api.client.get("/log/tile/0/x009/x223/x372/x036/x854/x775/807").status_code == 404
    assert api.client.get("/log/tile/%206/000").status_code == 422


def _url_integer_fields(app: Any) -> list[tuple[str, Any]]:
    """(where, field) of every integer a route reads from its path or query, from the routes
    themselves (their dependants), so that a role check answering first hides none of them."""
    from fastapi.routing import APIRoute

    def params(dependant: Any) -> list[Any]:
        found = [*dependant.path_params, *dependant.query_params]
        for sub in dependant.dependencies:
            found += params(sub)
        return found

    def routes(holder: Any) -> list[APIRoute]:
        # FastAPI keeps an included router as a route of its own (original_router in 0.165)
        found: list[APIRoute] = []
        for route in holder.routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif (inner := getattr(route, "original_router", None)) is not None:
                found += routes(inner)
        return found

    fields = []
    for route in routes(app):
        for f in params(route.dependant):
            if "int" in repr(f.field_info.annotation):
                fields.append((f"{sorted(route.methods or ())} {route.path} {f.name}", f))
            elif any("\\d" in str(getattr(m, "pattern", "")) for m in f.field_info.metadata):
                # digits as text: \d in a pattern is every script's digits (Unicode)
                fields.append((f"{sorted(route.methods or ())} {route.path} {f.name} (text)", f))
    return fields


def test_every_path_and_query_integer_has_one_spelling(api: Api) -> None:
    """The class the page size showed: ``?limit=+6`` and ``?limit=%206`` were taken as 6, and a
    cursor of Arabic-Indic digits or 30 digits passed its ``\\d`` pattern (a 500 past 64 bits),
    because those two parameters were declared apart from :class:`UrlInt`."""
    fields = _url_integer_fields(api.client.app)
    assert len(fields) > 10, "the routes lost their integers"
    accepted = []
    for where, f in fields:
        for spelling in (" 6", "6 ", "+6", "6_0", "06", "6.0", "\u0666", *PAST):
            _, errors = f.validate(spelling, {}, loc=("query",))
            if not errors:
                accepted.append(f"{where} = {spelling!r}")
    assert not accepted, "misspelt or past 64 bits, accepted:\n" + "\n".join(accepted)


def test_a_record_list_refuses_a_misspelt_page_size_and_cursor(api: Api) -> None:
    h = api.principal("bounds-holder", "holder")
    for query in ({"limit": "+6"}, {"limit": " 6"}, {"cursor": "\u0666"}, {"cursor": "9" * 30}):
        r = api.client.get("/v1/evidence", params=query, headers=h)
        assert r.status_code == 422, (query, r.text)
    assert api.client.get("/v1/evidence", params={"limit": "6"}, headers=h).status_code == 200
