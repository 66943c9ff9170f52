"""A flood from one client is refused with 429 by the app's per-client budget while a genuine
invitee at another address gets through (docs/decisions/0015-where-volume-limits-live.md).

Over the dev host with the default budget; X-Forwarded-For is set as Azure's front end sets it."""

from __future__ import annotations

import uuid
from collections import Counter

import requests

from tests.support import Api
from tools.localstack.stack import LocalStack

FLOOD = 200


def test_a_flood_of_unknown_ids_is_refused_while_the_invitee_signs_in(stack: LocalStack, api: Api) -> None:
    invitation = api.invite()
    prober = requests.Session()
    prober.headers["X-Forwarded-For"] = "203.0.113.9:40001"
    answers = Counter(
        prober.get(
            f"{stack.base_url}/api/InviteUser", params={"invitationId": str(uuid.uuid4())}, allow_redirects=False, timeout=30
        ).status_code
        for _ in range(FLOOD)
    )
    assert set(answers) == {404, 429}, answers
    assert answers[429] >= FLOOD * 0.9, answers  # a few unknown ids, then one every few seconds at most
    refused = prober.get(invitation["inviteRedeemUrl"], allow_redirects=False, timeout=30)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert 'data-kind="too-many-requests"' in refused.text

    invitee = requests.get(
        invitation["inviteRedeemUrl"], headers={"X-Forwarded-For": "198.51.100.21:52000"}, allow_redirects=False, timeout=30
    )
    assert invitee.status_code == 302 and invitee.headers["Location"].startswith(stack.idp_url)
