"""`ikg serve`: the public API over HTTP (optional extra: pip install "interest-kg[server]").

A leaf over InterestGraph: nothing in kg/, gnn/, encoders/ or the rest of ikg/ imports it.
`app` builds the FastAPI routes, `versions` loads and swaps versions off the request path,
`security` holds the token and bind rules, `metrics` the Prometheus counters, `run` starts uvicorn.
"""

from ikg.server.app import VERSION_HEADER, create_app
from ikg.server.run import ServeSpec, serve
from ikg.server.security import ServeConfigError

__all__ = ["VERSION_HEADER", "ServeConfigError", "ServeSpec", "create_app", "serve"]
