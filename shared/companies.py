"""Creating the customer's company and the invitee's membership from an accepted invitation."""

import uuid

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableTransactionError

from shared import invitations
from shared.clock import utcnow
from shared.errors import Conflict
from shared.models import (
    Company,
    CompanyData,
    CompanyForm,
    Invitation,
    InvitationStatus,
    SignedInUser,
)
from shared.storage import COMPANIES, table

COMPANY_ROW = "company"
# The company id derives from the invitation id: a double submit, a retry or the back
# button can only ever address the same company, and the insert refuses a second one.
_NAMESPACE = uuid.UUID("5b0e6a53-6a61-4d6e-9a77-2f1c1b7e0c42")


def company_id_for(invitation_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, invitation_id))


def create_from_invitation(invitation: Invitation, form: CompanyForm, user: SignedInUser) -> Invitation:
    """Create company + membership once, then complete the invitation; safe to repeat."""
    company_id = company_id_for(invitation.id)
    now = utcnow()
    company = Company(
        id=company_id,
        invitation_id=invitation.id,
        data=CompanyData.model_validate(form.model_dump(exclude={"contact_name"})),
        created_at=now,
        created_by=user,
    )
    member = {
        "PartitionKey": company_id,
        "RowKey": f"member-{user.object_id}",
        "Role": invitation.role,
        "Email": user.email,
        "Name": form.contact_name,
        "CreatedAt": now,
    }
    try:
        table(COMPANIES).submit_transaction(
            [("create", {"PartitionKey": company_id, "RowKey": COMPANY_ROW, "Data": company.model_dump_json()}),
             ("create", member)]
        )
    except TableTransactionError as error:
        if getattr(error, "error_code", None) != "EntityAlreadyExists":  # set at runtime, missing in the stubs
            raise
    try:
        return invitations.complete(invitation.id, company_id, user)
    except Conflict:
        # Another submit of the same form got there first: same company, same outcome.
        current = invitations.get(invitation.id)
        if current.status == InvitationStatus.COMPLETED and current.company_id == company_id:
            return current
        raise


def get(company_id: str) -> Company | None:
    try:
        entity = table(COMPANIES).get_entity(company_id, COMPANY_ROW)
    except ResourceNotFoundError:
        return None
    return Company.model_validate_json(entity["Data"])
