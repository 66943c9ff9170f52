"""The id_token_hint for B2C's invitation policy (shared/adapters/invitation_hints.py): its claims and
lifetime on a clock the test sets, verified as B2C does (the published JWKS, issuer, audience,
lifetime), and a key rotation that keeps a hint signed just before it valid."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from pydantic import SecretStr

from shared.adapters.invitation_hints import HintIssuer, InvitationHints
from shared.domain.keys import load_private_key
from shared.domain.models import Invitation
from shared.routes import Links
from shared.services.invitations import InvitationService
from shared.settings import Settings
from shared.wiring import invitation_hints
from tests.fakes.memory import SettableClock
from tests.unit.services.conftest import create
from tests.unit.services_on_fakes import BASE_URL, Fakes, fakes, invitation_service  # noqa: F401  (fixtures)
from tools.localstack.hint_keys import new_private_key_pem

AUDIENCE = "b2c-app-client-id"
ISSUER = HintIssuer(
    issuer=f"{BASE_URL}/api/hint",
    metadata_url=f"{BASE_URL}/api/hint/.well-known/openid-configuration",
    jwks_url=f"{BASE_URL}/api/hint/keys",
    audience=AUDIENCE,
    lifetime=timedelta(minutes=10),
)


@pytest.fixture(scope="module")
def pems() -> tuple[str, str, str]:
    return new_private_key_pem(), new_private_key_pem(), new_private_key_pem()


@pytest.fixture
def invitation(invitation_service: InvitationService) -> Invitation:
    return invitation_service.get(create(invitation_service, language="de").id)


def verified(token: str, hints: InvitationHints, *, at: SettableClock) -> dict[str, object]:
    """The hint's claims as B2C's IdTokenHint profile checks them: a key of the published JWKS by kid,
    the metadata's issuer, the policy's audience, nbf and exp, at the clock's time."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in hints.keys()["keys"] if key["kid"] == kid)
    public = jwt.PyJWK(jwk).key
    options = {"require": ["iss", "aud", "exp", "nbf", "iat", "jti"]}
    metadata = hints.metadata()
    with pytest.MonkeyPatch.context() as patch:  # PyJWT reads the wall clock: move it to the test's
        patch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(at))
        claims: dict[str, object] = jwt.decode(
            token,
            public,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=metadata["issuer"],
            options=options,  # type: ignore[arg-type]
        )
    return claims


class _FrozenDatetime:
    def __init__(self, clock: SettableClock) -> None:
        self._clock = clock

    def now(self, tz: object = None) -> object:
        return self._clock()


def test_the_hint_names_the_invited_address_and_invitation_for_the_policy(
    fakes: Fakes, invitation: Invitation, pems: tuple[str, str, str]
) -> None:
    hints = InvitationHints(ISSUER, pems[0], None, fakes.clock)
    claims = verified(hints.sign(invitation), hints, at=fakes.clock)
    now = int(fakes.clock().timestamp())
    assert claims["email"] == invitation.invitee.email and claims["invitation_id"] == invitation.id
    assert (claims["iss"], claims["aud"]) == (f"{BASE_URL}/api/hint", AUDIENCE)
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (now, now, now + 600)
    header = jwt.get_unverified_header(hints.sign(invitation))
    assert (header["alg"], header["typ"]) == ("RS256", "JWT")


def test_every_hint_has_its_own_jti(fakes: Fakes, invitation: Invitation, pems: tuple[str, str, str]) -> None:
    hints = InvitationHints(ISSUER, pems[0], None, fakes.clock)
    jtis = {verified(hints.sign(invitation), hints, at=fakes.clock)["jti"] for _ in range(3)}
    assert len(jtis) == 3


def test_the_hint_lives_minutes_then_is_refused(fakes: Fakes, invitation: Invitation, pems: tuple[str, str, str]) -> None:
    hints = InvitationHints(ISSUER, pems[0], None, fakes.clock)
    token = hints.sign(invitation)
    fakes.clock.advance(minutes=9, seconds=59)
    assert verified(token, hints, at=fakes.clock)["email"] == invitation.invitee.email
    fakes.clock.advance(seconds=1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verified(token, hints, at=fakes.clock)


def test_a_hint_for_another_audience_or_from_another_key_is_refused(
    fakes: Fakes, invitation: Invitation, pems: tuple[str, str, str]
) -> None:
    hints = InvitationHints(ISSUER, pems[0], None, fakes.clock)
    other_audience = InvitationHints(HintIssuer(**{**vars(ISSUER), "audience": "another-app"}), pems[0], None, fakes.clock)
    with pytest.raises(jwt.InvalidAudienceError):
        verified(other_audience.sign(invitation), hints, at=fakes.clock)
    forged = InvitationHints(ISSUER, pems[2], None, fakes.clock).sign(invitation)
    with pytest.raises(StopIteration):  # its kid is in no published key
        verified(forged, hints, at=fakes.clock)


def test_rotation_signs_with_the_new_key_and_still_publishes_the_previous(
    fakes: Fakes, invitation: Invitation, pems: tuple[str, str, str]
) -> None:
    old, new, _ = pems
    before = InvitationHints(ISSUER, old, None, fakes.clock)
    in_flight = before.sign(invitation)
    after = InvitationHints(ISSUER, new, old, fakes.clock)
    kids = [key["kid"] for key in after.keys()["keys"]]
    assert kids == [after.keys()["keys"][0]["kid"], before.keys()["keys"][0]["kid"]] and len(set(kids)) == 2
    assert jwt.get_unverified_header(after.sign(invitation))["kid"] == kids[0]
    assert verified(in_flight, after, at=fakes.clock)["email"] == invitation.invitee.email
    # Once the previous key is dropped, a hint it signed no longer validates.
    with pytest.raises(StopIteration):
        verified(in_flight, InvitationHints(ISSUER, new, None, fakes.clock), at=fakes.clock)


def test_the_published_keys_are_public_and_named_by_thumbprint(pems: tuple[str, str, str], fakes: Fakes) -> None:
    hints = InvitationHints(ISSUER, pems[0], pems[1], fakes.clock)
    for jwk in hints.keys()["keys"]:
        assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}  # no private member (d, p, q...)
        assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")
    assert hints.keys() == InvitationHints(ISSUER, pems[0], pems[1], SettableClock()).keys()  # stable across instances
    assert hints.metadata() == {
        "issuer": f"{BASE_URL}/api/hint",
        "jwks_uri": f"{BASE_URL}/api/hint/keys",
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def test_only_an_rsa_private_key_signs() -> None:
    with pytest.raises(ValueError):
        load_private_key("not a key")


def test_the_settings_choose_the_hint(pems: tuple[str, str, str]) -> None:
    links, clock = Links(BASE_URL), SettableClock()
    assert invitation_hints(Settings(), links, clock) is None  # login_hint by default: nothing signed or published
    with pytest.raises(ValueError, match="HINT_SIGNING_KEY"):
        Settings(sign_in_hint="id_token_hint")
    hints = invitation_hints(
        Settings(sign_in_hint="id_token_hint", hint_signing_key=SecretStr(pems[0]), b2c_client_id=AUDIENCE), links, clock
    )
    assert hints is not None and hints.metadata()["issuer"] == f"{BASE_URL}/api/hint"


def test_a_key_that_is_no_pem_is_named_in_the_settings(pems: tuple[str, str, str]) -> None:
    unresolved = SecretStr("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hint-previous-signing-key)")
    with pytest.raises(ValueError, match="HINT_PREVIOUS_SIGNING_KEY must be an RSA private key in PEM"):
        Settings(sign_in_hint="id_token_hint", hint_signing_key=SecretStr(pems[0]), hint_previous_signing_key=unresolved)
    assert Settings(hint_signing_key=unresolved).sign_in_hint == "login_hint"  # unread while no hint is signed


def test_the_same_key_in_both_settings_is_published_once(pems: tuple[str, str, str], fakes: Fakes) -> None:
    assert len(InvitationHints(ISSUER, pems[0], pems[0], fakes.clock).keys()["keys"]) == 1
