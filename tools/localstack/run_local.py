"""`make run`: the local stack on the usual ports, plus a demo invitation to click through."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, cast

from shared.domain.platforms import IdentityPlatform
from shared.presentation.i18n import catalog
from tools.localstack.stack import PLATFORM_APP_SETTINGS, ROOT, LocalStack, StackConfig
from web.openapi import REQUEST_EXAMPLE

# The staff API's documented example, in English and for another invitee (docs/reference/staff-api.md's example
# invites Anna Keller on the same stack), is the demo.
DEMO_INVITATION = {
    **REQUEST_EXAMPLE,
    "invitee": {"email": "max.muster@contoso.example", "displayName": "Max Muster"},
    "language": "en",
    "message": "Welcome aboard! Your machines are ready for you on My rConnect.",
}
# The app settings `make run` adds to the stack's: the documented examples redirect to the portal.
RUN_APP_SETTINGS = {
    "REDIRECT_ALLOWLIST": "https://portal.rconnect.example",
    # `make run SIGN_IN_HINT=id_token_hint`: the invitation policy (the address locked, no e-mail code).
    "SIGN_IN_HINT": os.environ.get("SIGN_IN_HINT", "login_hint"),
}
# The English labels of the local sign-in page (tools/idp/i18n.mjs), as the banner quotes them.
WORK_ACCOUNT_BUTTON, SIGN_UP_LINK = "Sign in with your work or school account", "Sign up now"
EMAIL_WAIT_SECONDS = 30  # how long `make run` waits to show the demo e-mail leaving the queue


def _call(stack: LocalStack, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{stack.base_url}/api/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "x-functions-key": stack.config.functions_key},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def create_demo_invitation(stack: LocalStack) -> dict[str, Any]:
    """The demo invitation once its e-mail left the queue (or after 30 s, still queued); after a
    restart on the same data, the demo invitation still open from last time."""
    try:
        invitation = _call(stack, "invitations", DEMO_INVITATION)
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise
        invitation = _call(stack, f"invitations/{json.loads(error.read())['existingInvitationId']}")
    deadline = time.monotonic() + EMAIL_WAIT_SECONDS
    while invitation["email"]["status"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
        invitation = _call(stack, f"invitations/{invitation['id']}")
    return invitation


def identity_platform(name: str) -> IdentityPlatform:
    """`make run IDENTITY_PLATFORM=…`: the platform the local IdP plays and the app is set up for."""
    if name not in PLATFORM_APP_SETTINGS:
        raise SystemExit(f"IDENTITY_PLATFORM must be one of {', '.join(PLATFORM_APP_SETTINGS)}, got {name!r}")
    return cast(IdentityPlatform, name)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # leave the `with` block, so the stack's processes are stopped too


def _ignore_further_signals() -> None:
    """While the stack stops, a second Ctrl+C must not cut Azurite's save short (the services run in
    their own sessions, so only this process sees the terminal's signals)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    data_dir = ROOT / ".local"
    key = os.environ.get("FUNCTIONS_KEY") or "local-dev-functions-key"
    platform = identity_platform(os.environ.get("IDENTITY_PLATFORM", "b2c-custom-policy"))
    with LocalStack(StackConfig(data_dir, functions_key=key, app_env=RUN_APP_SETTINGS, identity_platform=platform)) as stack:
        invitation = create_demo_invitation(stack)
        print(
            f"""
My rConnect invitations is running.
  Function app     {stack.base_url}/api   (staff API key: x-functions-key: {key})
  Identity         {stack.idp_url}   ({platform}, local CA: {Path(stack.ca_bundle).relative_to(ROOT)})
  Storage          Azurite: tables on 127.0.0.1:{stack.config.table_port}, queues on 127.0.0.1:{stack.config.queue_port}, data in .local/azurite
  E-mail outbox    {stack.outbox.relative_to(ROOT)}/

Demo invitation for {DEMO_INVITATION["invitee"]["email"]} (e-mail {invitation["email"]["status"]} through the invitation-email queue):
  {invitation["inviteRedeemUrl"]}

Open it, accept the local sign-in page's certificate warning once, and sign in as
{DEMO_INVITATION["invitee"]["email"]} with "{WORK_ACCOUNT_BUTTON}" (CASE 1), or "{SIGN_UP_LINK}" for a new
account with a code the outbox receives (CASE 2); then "{catalog("pages", "en")["company.submit"]}".
Logs: .local/logs/. Press Ctrl+C to stop.""",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            _ignore_further_signals()
            print("\nStopping (Azurite saves its data before it exits)...", flush=True)


if __name__ == "__main__":
    main()
