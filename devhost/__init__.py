"""Local dev host for the Functions v2 app: serves its HTTP functions with waitress (no Core Tools needed)."""

from devhost.wsgi import create_http_server, create_wsgi_app, load_route_prefix

__all__ = ["create_http_server", "create_wsgi_app", "load_route_prefix"]
