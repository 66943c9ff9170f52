"""`make run`'s banner names the buttons the sign-in page and the company page actually show."""

from pathlib import Path

from tools.localstack import run_local

IDP_LABELS = Path(__file__).resolve().parents[2] / "tools" / "idp" / "i18n.mjs"


def test_the_banner_quotes_the_sign_in_pages_labels() -> None:
    labels = IDP_LABELS.read_text(encoding="utf-8")
    for label in (run_local.WORK_ACCOUNT_BUTTON, run_local.SIGN_UP_LINK):
        assert f"'{label}'" in labels, f"the local sign-in page shows no {label!r}"
