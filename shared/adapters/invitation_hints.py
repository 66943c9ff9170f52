"""The invitation as proof of the mailbox: the id_token_hint the app signs for B2C's invitation policy.

B2C's "Signup with email invitation" pattern (docs/decisions/0018-invitation-proves-the-mailbox.md):
the app signs a short-lived JWT naming the invited address, the policy validates it against the
OpenID metadata and JWKS the app publishes (`iss`, `aud`, `exp`, `nbf`, signature) and shows the
address read-only, without an e-mail code. RS256 with the current key; the JWKS also publishes the
previous one, so a rotation does not break a hint signed just before it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from shared.domain.keys import load_private_key
from shared.domain.models import Invitation
from shared.services.ports import Clock

ALGORITHM = "RS256"


def public_jwk(key: RSAPublicKey) -> dict[str, str]:
    """The public key as a JWK, its `kid` the RFC 7638 thumbprint (the same key always gets the same kid)."""
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(key, as_dict=True)
    canonical = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid, "n": jwk["n"], "e": jwk["e"]}


@dataclass(frozen=True)
class HintIssuer:
    """What the policy checks: the issuer (also the metadata's), the audience and the lifetime."""

    issuer: str
    metadata_url: str
    jwks_url: str
    audience: str
    lifetime: timedelta


class InvitationHints:
    def __init__(self, issuer: HintIssuer, current_pem: str, previous_pem: str | None, clock: Clock) -> None:
        self._issuer = issuer
        self._key = load_private_key(current_pem)
        self._previous = load_private_key(previous_pem) if previous_pem else None
        self._clock = clock
        self._kid = public_jwk(self._key.public_key())["kid"]

    def sign(self, invitation: Invitation) -> str:
        """The id_token_hint for one sign-in request to the invitation policy."""
        now = self._clock()
        claims: dict[str, Any] = {
            "iss": self._issuer.issuer,
            "aud": self._issuer.audience,
            "email": invitation.invitee.email,
            "invitation_id": invitation.id,
            "iat": now,
            "nbf": now,
            "exp": now + self._issuer.lifetime,
            "jti": uuid.uuid4().hex,  # the stand-in refuses a hint it has seen (tools/idp/hint.mjs)
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid, "typ": "JWT"})

    def keys(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS: the current key first, then the previous one while it may still verify a hint
        (once, when both settings hold the same key)."""
        keys = [self._key, *([self._previous] if self._previous else [])]
        published = {jwk["kid"]: jwk for jwk in (public_jwk(key.public_key()) for key in keys)}
        return {"keys": list(published.values())}

    def metadata(self) -> dict[str, Any]:
        """The OpenID configuration B2C's IdTokenHint technical profile reads (its METADATA item)."""
        return {
            "issuer": self._issuer.issuer,
            "jwks_uri": self._issuer.jwks_url,
            "id_token_signing_alg_values_supported": [ALGORITHM],
        }
