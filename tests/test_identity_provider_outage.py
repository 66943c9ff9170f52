"""When B2C cannot be reached, the invitee gets a readable 503 page and nothing is lost."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import Api
from tools.localstack.stack import LocalStack, StackConfig, free_port


@pytest.fixture(scope="module")
def stack_without_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Nothing listens on this port: MSAL's discovery of the B2C authority fails.
    closed = f"https://localhost:{free_port()}"
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("no-idp"), app_env={"B2C_AUTHORITY_HOST": closed})
    with LocalStack(config) as running:
        yield running


def test_link_while_b2c_is_down_shows_a_retry_page(stack_without_idp: LocalStack) -> None:
    invitation = Api(stack_without_idp).invite()
    response = requests.get(invitation["inviteRedeemUrl"], allow_redirects=False, timeout=60)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Sign-in is not available right now" in response.text
    assert f'href="{invitation["inviteRedeemUrl"]}"' in response.text.replace("&amp;", "&")
    assert "Traceback" not in response.text and "set-cookie" not in {k.lower() for k in response.headers}
    stored = Api(stack_without_idp).get(f"/invitations/{invitation['id']}").json()
    assert stored["status"] == "pending"
    assert Path(stack_without_idp.logs / "app.log").read_text().count("Identity platform unreachable") >= 1
