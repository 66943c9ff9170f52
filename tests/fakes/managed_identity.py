"""A loopback stand-in for App Service's managed-identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER).

It speaks the protocol azure-identity's ManagedIdentityCredential (through MSAL) uses on App Service
and Functions: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…&client_id=…` with the
`X-IDENTITY-HEADER` secret, answering `{access_token, expires_on, resource, token_type, client_id}`.
The tokens are JWTs shaped like Entra ID's v1 tokens for Storage (issuer `https://sts.windows.net/{tid}/`,
audience the requested resource, `oid`/`appid` of the identity), which is what Azurite's `--oauth basic`
checks. `mode` makes it hand out what a misconfigured identity would: a token for another audience,
or one whose lifetime is already over (the endpoint still says it is fresh, as with a skewed clock).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.http import JsonHandler

Mode = Literal["valid", "wrong-audience", "expired"]


class ManagedIdentityEndpoint:
    """`with ManagedIdentityEndpoint(client_id) as msi:` serves until the block ends; `msi.environment()`
    is what the platform sets for the app."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.principal_id = str(uuid.uuid4())
        self.tenant_id = str(uuid.uuid4())
        self.secret = secrets.token_urlsafe(24)
        self.mode: Mode = "valid"
        self.requests: list[dict[str, str]] = []  # the query of each token request answered 200
        self.refused = 0
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"

    def environment(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def token(self, resource: str) -> str:
        now = int(time.time())
        lifetime = (now - 3600, now - 600) if self.mode == "expired" else (now - 60, now + 3600)
        claims: dict[str, Any] = {
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "aud": "https://management.azure.com/" if self.mode == "wrong-audience" else resource,
            "iat": lifetime[0],
            "nbf": lifetime[0],
            "exp": lifetime[1],
            "oid": self.principal_id,
            "sub": self.principal_id,
            "appid": self.client_id,
            "tid": self.tenant_id,
            "idtyp": "app",
            "ver": "1.0",
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "msi-stand-in"})

    def __enter__(self) -> ManagedIdentityEndpoint:
        endpoint = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                query = {name: values[0] for name, values in parse_qs(urlsplit(self.path).query).items()}
                wrong_client = query.get("client_id", endpoint.client_id) != endpoint.client_id
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret or "resource" not in query or wrong_client:
                    endpoint.refused += 1
                    self.reply(400, {"statusCode": 400, "message": "Invalid request"})
                    return
                endpoint.requests.append(query)
                self.reply(
                    200,
                    {
                        "access_token": endpoint.token(query["resource"]),
                        "expires_on": str(int(time.time()) + 3600),
                        "resource": query["resource"],
                        "token_type": "Bearer",
                        "client_id": endpoint.client_id,
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
