"""The area's functions: importing the package registers each feature module's on `bp` (blueprint.py)."""

from create_company import company_page, company_worker, welcome_page
from create_company.blueprint import bp

__all__ = ["bp", "company_page", "company_worker", "welcome_page"]
