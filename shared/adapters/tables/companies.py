"""Customers' companies and their members (table Companies)."""

from datetime import datetime

from azure.data.tables import TableServiceClient

from shared.adapters.tables import COMPANIES, Table
from shared.domain.errors import NotFound
from shared.domain.models import Company, Role

COMPANY_ROW = "company"


class CompanyStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, COMPANIES)

    def insert(self, company: Company, *, role: Role, member_name: str, at: datetime) -> None:
        """The company and its first member in one transaction; AlreadyExists if it was created before."""
        user = company.created_by
        member = {
            "PartitionKey": company.id,
            "RowKey": f"member-{user.object_id}",
            "Role": role,
            "Email": user.email,
            "Name": member_name,
            "CreatedAt": at,
        }
        row = {"PartitionKey": company.id, "RowKey": COMPANY_ROW, "Data": company.model_dump_json()}
        operations = [("create", row), ("create", member)]
        self.table.run(lambda t: t.submit_transaction(operations), f"Company {company.id}")  # type: ignore[arg-type]

    def get(self, company_id: str) -> Company | None:
        try:
            entity = self.table.run(lambda t: t.get_entity(company_id, COMPANY_ROW), f"Company {company_id}")
        except NotFound:
            return None
        return Company.model_validate_json(entity["Data"])
