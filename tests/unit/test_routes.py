"""Routes are spelled once (shared/routes.py) and agree with host.json and the registered functions."""

import json
from pathlib import Path

import function_app
from shared import routes
from shared.routes import Links
from tools.devhost import index

ROOT = Path(__file__).resolve().parents[2]


def test_prefix_is_host_json_route_prefix() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == routes.PREFIX


def test_every_registered_route_is_a_template_of_routes_py() -> None:
    templates = {value for name, value in vars(routes).items() if name.isupper() and isinstance(value, str)}
    registered = {
        route for function in index(function_app.app) for binding in function.get_bindings() if (route := getattr(binding, "route", None))
    }
    assert registered and registered <= templates, registered - templates


def test_the_email_link_keeps_its_shape() -> None:
    links = Links("https://invite.rconnect.example")
    invitation_id = "1ce27bca-4c72-4860-8a1c-3a548a1cac4f"
    assert links.redeem(invitation_id) == f"https://invite.rconnect.example/api/InviteUser?invitationId={invitation_id}"
    assert links.sign_in_callback() == "https://invite.rconnect.example/api/InviteUser/callback"
    assert links.admin_consent_callback() == "https://invite.rconnect.example/api/AdminConsent/callback"
    assert links.admin_consent_help(invitation_id).endswith(f"/api/AdminConsent?invitationId={invitation_id}")
    assert links.company_page() == "https://invite.rconnect.example/api/CreateCompany"


def test_welcome_is_our_page_which_links_the_portal() -> None:
    assert Links("http://localhost:7071").welcome() == "http://localhost:7071/api/Welcome"
    assert routes.path(routes.INVITATION, id="x") == "/api/invitations/x"
