"""commercetools <-> novomind support gateway.

Layers (dependencies point down only):

    api/, cli            controllers, guards, problem mapping; the only HTTP-aware code
    asgi                 the composition root: settings -> adapters -> services -> Litestar app
    lookup/              the lookup service; composes adapters, mapping and views
    mapping/             market rules (mappings/*.toml) and pure normalization (Ct* -> *View)
    commercetools/       adapter: OAuth, retries, query templates, wire models
    views/, errors       leaves: view Structs and the error taxonomy; no I/O
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place the version is kept is pyproject.toml; everything else (OpenAPI, --version, /healthz) reads it here.
    __version__ = version("ct-novomind-gateway")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
