"""Azure Table Storage: one store per table (the modules beside this one) on a shared `Table`.

Tables and keys (docs/reference/storage.md explains why):
- Invitations: PartitionKey = invitation id. RowKey "invitation" holds the invitation and its
  audit trail (`created` in Data, later events in History), so a transition and its audit
  event are one write guarded by the ETag; an overlong trail moves to "audit-archive-{n}" rows
  (invitations.py).
- IdempotencyKeys: PartitionKey = SHA-256 of the Idempotency-Key header.
- Companies: PartitionKey = company id; RowKey "company" and "member-{object id}".
- Users: PartitionKey = B2C object id.
- AdminConsents: PartitionKey = Entra tenant id; RowKey = timestamped consent result.
- InvitationsByEmail: PartitionKey = SHA-256 of the lower-cased e-mail; RowKey "open" = the
  address's claim (its open invitation, at most one unless staff allow a duplicate), RowKey =
  invitation id for the others; listing by e-mail reads one partition (email_index.py).
- EmailOperations: PartitionKey = ACS operation id (an e-mail's send id); which invitation a
  delivery report is about.
- Batches: PartitionKey = batch id; RowKey "batch" (the header) and "row-{index:04d}" (each
  row's request and, once a worker created it, its invitation id or error).
- EmailBudget: PartitionKey "quota"; a row per minute and hour window counting the e-mails
  given a place in it (send_budget.py).
- TenantDomains: PartitionKey = e-mail domain; its Entra tenant id as last looked up, and when.
- InvitationsByTenant: PartitionKey = Entra tenant id, RowKey = invitation id; a tenant's consent
  reads one partition (tenants.py).
- Funnel: PartitionKey "days" (a rollup row per UTC day) and "stalled" (a row per invitation
  opened and not signed in, or signed in and not completed) (funnel.py).
"""

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableErrorCode, TableServiceClient

from shared.domain.errors import AlreadyExists, ConcurrentUpdate, DomainError, NotFound, Unavailable

log = logging.getLogger(__name__)
Result = TypeVar("Result")

INVITATIONS = "Invitations"
IDEMPOTENCY_KEYS = "IdempotencyKeys"
COMPANIES = "Companies"
USERS = "Users"
ADMIN_CONSENTS = "AdminConsents"
EMAIL_OPERATIONS = "EmailOperations"
INVITATIONS_BY_EMAIL = "InvitationsByEmail"
BATCHES = "Batches"
EMAIL_BUDGET = "EmailBudget"
TENANT_DOMAINS = "TenantDomains"
INVITATIONS_BY_TENANT = "InvitationsByTenant"
FUNNEL = "Funnel"
ALL_TABLES = (
    INVITATIONS,
    IDEMPOTENCY_KEYS,
    COMPANIES,
    USERS,
    ADMIN_CONSENTS,
    EMAIL_OPERATIONS,
    INVITATIONS_BY_EMAIL,
    BATCHES,
    EMAIL_BUDGET,
    TENANT_DOMAINS,
    INVITATIONS_BY_TENANT,
    FUNNEL,
)

_EXISTS = {TableErrorCode.ENTITY_ALREADY_EXISTS}
_MODIFIED = {TableErrorCode.UPDATE_CONDITION_NOT_SATISFIED}
_NOT_FOUND = {TableErrorCode.RESOURCE_NOT_FOUND, TableErrorCode.ENTITY_NOT_FOUND}


def error_code(error: Exception) -> str | None:
    """The service's error code (TableNotFound, EntityAlreadyExists...). The SDK sets `error_code`
    on most errors, TableTransactionError included (the failed operation's code), but not on every
    one (create_entity on a missing table): then it is read from the OData error body."""
    code = getattr(error, "error_code", None)  # set at runtime, missing in the stubs
    if code is None and isinstance(error, HttpResponseError) and error.response is not None:
        try:
            code = json.loads(error.response.text())["odata.error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None
    return None if code is None else str(getattr(code, "value", code))  # TableErrorCode members by value


def storage_error(error: Exception, what: str) -> DomainError | None:
    """The domain error for an Azure SDK error (the one place that maps them), or None if it is a bug."""
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return Unavailable(f"Storage cannot be reached ({what}).", code="storage-unavailable")
    if not isinstance(error, HttpResponseError):
        return None
    code = error_code(error)
    if code in _EXISTS or isinstance(error, ResourceExistsError):
        return AlreadyExists(f"{what} already exists.", code="already-exists")
    if code in _MODIFIED or isinstance(error, ResourceModifiedError):
        return ConcurrentUpdate(f"{what} was changed by another request; try again.", code="concurrent-update")
    if code in _NOT_FOUND or isinstance(error, ResourceNotFoundError):
        return NotFound(f"{what} does not exist.", code="not-found")
    if error.status_code is None or error.status_code >= 500 or error.status_code in (401, 403, 408, 429):
        return Unavailable(f"Storage answered {error.status_code} ({what}).", code="storage-unavailable")
    return None


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Storage SDK errors raised inside become domain errors (a bug stays what it is)."""
    try:
        yield
    except DomainError:
        raise
    except Exception as error:
        mapped = storage_error(error, what)
        if mapped is None:
            raise
        raise mapped from error


class Table:
    """One table: every call goes through `run`, which maps errors and re-creates a missing table."""

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self.name = name
        self._service = service
        self.client: TableClient = service.get_table_client(name)

    def create(self) -> None:
        with storage_errors(f"Table {self.name}"), suppress(ResourceExistsError):
            self._service.create_table(self.name)

    def insert(self, entity: dict[str, Any], what: str) -> dict[str, Any]:
        """Insert `entity` (AlreadyExists if its keys are taken); its metadata (ETag). The service is
        asked not to echo the entity back: a smaller answer the SDK does not parse."""
        return self.run(lambda t: t.create_entity(entity, response_preference="return-no-content"), what)

    def run(self, operation: Callable[[TableClient], Result], what: str) -> Result:
        """`operation(client)`; a query must be consumed inside it, so its errors are mapped too."""
        with storage_errors(what):
            try:
                return operation(self.client)
            except HttpResponseError as error:
                if error_code(error) != TableErrorCode.TABLE_NOT_FOUND:
                    raise
            # Deleted, or a fresh account: re-create it instead of reporting a conflict or a 404.
            log.warning("Table %s was missing; creating it", self.name)
            self.create()
            return operation(self.client)
