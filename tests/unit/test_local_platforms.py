"""`make run IDENTITY_PLATFORM=…` and the stacks of the tests: the app settings each platform gets fit
the shape the local IdP plays (tools/idp/platforms.mjs mounts B2C at /{tenant}.onmicrosoft.com/{policy}/v2.0
and External ID at /{tenant id}/v2.0)."""

import pytest

from shared.settings import Settings
from tools.localstack.run_local import identity_platform
from tools.localstack.stack import LOCAL_EXTERNAL_TENANT_ID, PLATFORM_APP_SETTINGS

STAND_IN = "https://localhost:8443"
AUTHORITIES = {  # the stand-in's issuer in each shape, without its /v2.0
    "b2c-user-flow": f"{STAND_IN}/rconnectdev.onmicrosoft.com/B2C_1_signupsignin",
    "b2c-custom-policy": f"{STAND_IN}/rconnectdev.onmicrosoft.com/B2C_1A_SIGNUP_SIGNIN",
    "external-id": f"{STAND_IN}/{LOCAL_EXTERNAL_TENANT_ID}",
}


@pytest.mark.parametrize("platform", list(PLATFORM_APP_SETTINGS))
def test_each_platforms_app_settings_point_at_the_stand_ins_issuer(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    for name, value in {**PLATFORM_APP_SETTINGS[platform], "B2C_AUTHORITY_HOST": STAND_IN}.items():  # type: ignore[index]
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.identity_platform == platform
    assert settings.identity_authority_url == AUTHORITIES[platform]


def test_make_run_names_the_platforms_it_knows() -> None:
    assert identity_platform("external-id") == "external-id"
    with pytest.raises(SystemExit, match="IDENTITY_PLATFORM must be one of b2c-user-flow, b2c-custom-policy, external-id"):
        identity_platform("entra")
