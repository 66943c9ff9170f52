"""Local dev host for the Functions v2 app: runs its HTTP, queue and timer triggers (no Core Tools needed)."""

from tools.devhost.functions import index
from tools.devhost.hostconfig import HostConfig, QueueOptions
from tools.devhost.wsgi import create_http_server, create_wsgi_app

__all__ = ["HostConfig", "QueueOptions", "create_http_server", "create_wsgi_app", "index"]
