"""The gateway's own reference pages: problem types, and the API browser's assets served locally.

Swagger UI's scripts and styles come from the ``swagger-ui-bundle-v2`` package, so ``/schema``
works without internet access; any other path under ``/schema`` is a problem+json 404. Both the
browser and ``/schema/openapi.json`` serve the document with the recorded examples (app/api/examples.py).
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response, Router, get
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from app.api.examples import load_examples, with_examples
from app.api.problems import PROBLEM_MEDIA_TYPE, PROBLEMS_PATH, problem_body, problem_page

__all__ = ["SCHEMA_PATH", "document_json", "local_swagger", "problem_types", "schema_router", "swagger_assets"]

SCHEMA_PATH: Final = "/schema"
_ASSETS: Final = f"{SCHEMA_PATH}/assets"


@get(
    PROBLEMS_PATH,
    operation_id="GetProblemTypes",
    opt={"public": True},
    media_type="text/html",
    tags=("operations",),
    summary="Every problem `type` the gateway answers, one anchor each (`/problems#invalid-input`, …)",
    sync_to_thread=False,
)
def problem_types() -> str:
    return problem_page()


def _with_examples_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
    # Litestar builds the document from the route handlers; the examples are added as it is served.
    return OpenAPIRenderPlugin.render_json(request, with_examples(openapi_schema, load_examples()))


class _SwaggerWithExamples(SwaggerRenderPlugin):
    render_json = staticmethod(_with_examples_json)


class _JsonWithExamples(JsonRenderPlugin):
    render_json = staticmethod(_with_examples_json)


def document_json() -> JsonRenderPlugin:
    """``/schema/openapi.json``: the document with the recorded examples."""
    return _JsonWithExamples()


def local_swagger() -> SwaggerRenderPlugin:
    return _SwaggerWithExamples(
        js_url=f"{_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{_ASSETS}/favicon-32x32.png'>",
    )


def swagger_assets() -> Router:
    return create_static_files_router(
        path=_ASSETS,
        directories=[str(swagger_ui_path)],
        opt={"public": True},
        include_in_schema=False,
    )


def _problem_instead_of_html_404(response: Response[Any]) -> Response[Any]:
    # Litestar answers unknown schema paths (/schema/redoc) with an HTML page; clients expect our problems.
    if response.status_code == 404 and response.media_type != PROBLEM_MEDIA_TYPE:
        body = problem_body("not-found", "no such path")
        return Response(
            body,
            status_code=404,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"X-Correlation-ID": body.correlation_id},
        )
    return response


def schema_router() -> Router:
    # The document is public (it is committed to the repository); the access guard reads this opt.
    return Router(
        path=SCHEMA_PATH,
        route_handlers=[],
        opt={"public": True},
        include_in_schema=False,
        after_request=_problem_instead_of_html_404,
    )
