"""GET /api/AdminConsent and its callback: CASE 1 help for the invitee's IT administrator."""

from __future__ import annotations

import azure.functions as func

from accept_invitation.blueprint import bp
from accept_invitation.invitation_pages import invitation_from_link
from shared import routes
from shared.composition import services
from shared.domain.errors import InvalidInput
from shared.domain.models import Invitation
from shared.domain.sign_in_failures import provider_error_code
from shared.presentation.pages import page, provider_error_reason
from shared.services.admin_consent import outcome_tenant, valid_tenant
from web.client_budget import anonymous_budget
from web.cookies import ConsentState, seal, unseal
from web.pages import html_response, message_response, page_errors, request_language

ANONYMOUS = func.AuthLevel.ANONYMOUS
CONSENT_STATE_MAX_AGE_SECONDS = 7 * 24 * 3600  # an administrator may take days to act


@bp.route(route=routes.ADMIN_CONSENT, methods=["GET"], auth_level=ANONYMOUS)
@page_errors
@anonymous_budget
def admin_consent_help(req: func.HttpRequest) -> func.HttpResponse:
    """The help page with their tenant's admin-consent link."""

    invitation: Invitation | None = None
    if req.params.get("invitationId"):
        loaded = invitation_from_link(req, req.params.get("invitationId"))
        if isinstance(loaded, func.HttpResponse):
            return loaded
        invitation = loaded
    default_tenant = invitation.invitee.email.rsplit("@", 1)[-1] if invitation else "organizations"
    tenant = req.params.get("tenant") or default_tenant
    tenant_ok = valid_tenant(tenant)
    state = seal(ConsentState(invitation_id=invitation.id if invitation else None, tenant=tenant))
    html = page(
        "admin_consent.html",
        request_language(req, invitation),
        invitation_id=invitation.id if invitation else None,
        tenant=tenant,
        tenant_invalid=not tenant_ok,
        consent_url=services().admin_consent.consent_url(tenant, state) if tenant_ok else None,
    )
    return html_response(html, status=200 if tenant_ok else 400)


@bp.route(route=routes.ADMIN_CONSENT_CALLBACK, methods=["GET"], auth_level=ANONYMOUS)
@page_errors
@anonymous_budget
def admin_consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    """Where Entra ID sends the administrator back: record the outcome and say what is next."""

    consent = unseal(req.params.get("state"), ConsentState, CONSENT_STATE_MAX_AGE_SECONDS)
    granted = req.params.get("admin_consent", "").lower() == "true" and "error" not in req.params
    try:
        if consent is None:
            raise InvalidInput("No consent link of ours carries this state.")
        tenant = outcome_tenant(consent.tenant, req.params.get("tenant"), granted=granted)
    except InvalidInput:
        return message_response("bad-request", request_language(req), 400)
    app = services()
    invitation = app.invitations.get(consent.invitation_id) if consent.invitation_id else None
    language = request_language(req, invitation)
    error = None if granted else f"{req.params.get('error', 'unknown')}: {req.params.get('error_description', '')}"
    app.admin_consent.record(tenant, granted, error, consent.invitation_id)
    if granted:
        next_url = invitation.invite_redeem_url if invitation else None
        return message_response("consent-granted", language, 200, action_url=next_url, invitation=invitation, tenant=tenant)
    back = app.links.admin_consent_help(invitation.id if invitation else None)
    description = req.params.get("error_description") or req.params.get("error") or ""
    return message_response(
        "consent-declined",
        language,
        200,
        action_url=back,
        invitation=invitation,
        details=description.splitlines()[0] if description else None,
        reason=provider_error_reason(provider_error_code(description), language),
    )
