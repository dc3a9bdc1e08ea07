"""The OpenAPI document as committed under ``openapi/``: rendered from the app, byte-stable."""

from __future__ import annotations

import json

import msgspec
from litestar import Litestar

from app.api.examples import load_examples, with_examples
from app.asgi import create_app
from app.mapping.loader import Mappings
from app.mapping.schema import MarketRule, MarketsFile
from app.settings import CommercetoolsSettings, GatewaySettings, Secret, Settings

__all__ = ["render_openapi", "schema_settings"]


def schema_settings() -> Settings:
    """Inert settings: the document depends on routes and types only, never on configuration."""
    return Settings(
        commercetools=CommercetoolsSettings(
            project_key="schema",
            client_id="schema",
            client_secret=Secret("schema"),
            auth_url="http://127.0.0.1:9",
            api_url="http://127.0.0.1:9",
        ),
        gateway=GatewaySettings(jwt_secret=Secret("s" * 32)),
    )


def document_bytes(schema: dict[str, object]) -> bytes:
    # to_builtins: Litestar leaves some Struct values (examples, defaults) in the schema dict.
    return (json.dumps(msgspec.to_builtins(schema), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def render_openapi(app: Litestar | None = None) -> bytes:
    app = app or create_app(
        schema_settings(), mappings=Mappings(markets=MarketsFile(default=MarketRule(locale="en-GB")))
    )
    return document_bytes(with_examples(app.openapi_schema.to_schema(), load_examples()))
