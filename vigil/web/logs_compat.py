"""What log shippers and Grafana ask before sending or querying.

- ``GET /`` asked for JSON: Elasticsearch's root document. Filebeat's output connects by
  reading ``version.number`` there (``Accept: application/json``); Fluentd's Elasticsearch
  plugin (elasticsearch-ruby, JSON ``Content-Type``) checks the version, the tagline and
  build flavour of 7.x, and the ``X-Elastic-Product`` header. Vigil answers as an 8.x node,
  whose ``_bulk`` (no mapping types) is the subset it ingests. A browser (``text/html``) or
  a bare ``curl`` still gets the overview page.
- ``GET /loki/api/v1/status/buildinfo``: Loki's build information; Grafana's Loki data source
  reads the version to choose the features it uses.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from vigil.web.formatting import dumps

__all__ = ["ELASTICSEARCH_VERSION", "LOKI_API_VERSION", "logs_compat_router", "wants_elasticsearch"]

ELASTICSEARCH_VERSION = "8.11.0"  # the Elasticsearch API level the _bulk endpoint speaks
LOKI_API_VERSION = "3.0.0"  # the Loki HTTP API level the query endpoints follow


def wants_elasticsearch(headers: dict[str, str]) -> bool:
    """A client asking ``/`` for JSON rather than a page: Elasticsearch's clients."""
    accept = headers.get("accept", "")
    if "text/html" in accept:
        return False
    return "json" in accept or "json" in headers.get("content-type", "")


class _ElasticsearchClientsRoute(APIRoute):
    """Matches only Elasticsearch clients' requests: any other request to ``/`` goes on to
    the overview page (this router is included before the UI's)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if not wants_elasticsearch(headers):
                return Match.NONE, {}
        return super().matches(scope)


def logs_compat_router(version: str) -> APIRouter:
    """``version``: Vigil's, reported beside the compatibility levels."""
    router = APIRouter()

    async def elasticsearch_root(request: Request) -> Response:
        body = {
            "name": "vigil",
            "cluster_name": "vigil",
            "cluster_uuid": "vigil",
            "version": {
                "number": ELASTICSEARCH_VERSION,
                "build_flavor": "default",
                "build_type": "vigil",
                "lucene_version": "",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
                "vigil_version": version,
            },
            "tagline": "You Know, for Search",
        }
        headers = {"X-Elastic-Product": "Elasticsearch"}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type="application/json")
        return Response(dumps(body), headers=headers, media_type="application/json")

    root = APIRouter(route_class=_ElasticsearchClientsRoute)
    root.add_api_route("/", elasticsearch_root, methods=["GET", "HEAD"], include_in_schema=False)
    router.include_router(root)

    @router.get("/loki/api/v1/status/buildinfo", include_in_schema=False)
    async def loki_buildinfo() -> Response:
        return Response(dumps({"version": LOKI_API_VERSION, "revision": "", "branch": "",
                               "buildUser": "", "buildDate": "", "goVersion": "",
                               "vigilVersion": version}), media_type="application/json")

    return router
