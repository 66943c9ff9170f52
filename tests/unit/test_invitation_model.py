"""Invitation's lifecycle (shared/domain/models.py): every step from every status, its audit event,
and the repeats and stale messages that change nothing. No storage, no clock but NOW."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Conflict, IllegalTransition
from shared.domain.events import audit_key, pending_for
from shared.domain.models import (
    ACCEPTED,
    COMPLETED,
    EXPIRED,
    PENDING,
    REVOKED,
    Change,
    CompanyCreationStatus,
    CompanyData,
    Completion,
    DeliveryReport,
    DeliveryState,
    EmailStatus,
    Invitation,
    InvitationRequest,
    SignedInUser,
)
from tests.support import invitation_body

NOW = datetime(2030, 3, 5, 12, 0, tzinfo=UTC)
ANNA = SignedInUser(object_id="oid-anna", email="anna@contoso.example", name="Anna", account_type="local")
BOB = SignedInUser(object_id="oid-bob", email="bob@contoso.example", name="Bob", account_type="work")
INVITATION_ID = "1ce27bca-4c72-4860-8a1c-3a548a1cac4f"


def step(change: Change | None) -> Invitation:
    assert change is not None
    return change.invitation


def issued(now: datetime = NOW, ttl_days: int = 7) -> Invitation:
    request = InvitationRequest.model_validate(invitation_body(ttlDays=ttl_days))
    return Invitation.issue(request, invitation_id=INVITATION_ID, actor="staff", redeem_url="https://x.example/r", now=now).invitation


def completion(user: SignedInUser = ANNA, at: datetime = NOW) -> Completion:
    company = CompanyData.model_validate(invitation_body()["company"])
    return Completion(company_id="company-1", company=company, contact_name=user.name, account=user, completed_at=at, updated_at=at)


def sent(invitation: Invitation) -> Invitation:
    """The invitation once the worker handed its e-mail over."""
    assert invitation.email is not None
    return step(invitation.record_email(invitation.email.send_id, "sent", after=("queued",), actor="worker", now=NOW))


def lapsed(invitation: Invitation) -> Invitation:
    return invitation.model_copy(update={"expires_at": NOW - timedelta(seconds=1)})


def in_state(state: str) -> Invitation:
    """An invitation in `state` at NOW, its first e-mail sent."""
    pending = sent(issued(NOW - timedelta(hours=1)))
    accepted = step(pending.accept(ANNA, NOW))
    return {
        "pending": pending,
        "accepted": accepted,
        "completed": step(accepted.complete(completion(), NOW)),
        "revoked": pending.revoke("staff", NOW).invitation,
        "expired": lapsed(pending),
        "expired-accepted": lapsed(accepted),
    }[state]


STATES = ["pending", "accepted", "completed", "revoked", "expired", "expired-accepted"]
Step = Callable[[Invitation], Change | None]
STEPS: dict[str, Step] = {
    "accept": lambda invitation: invitation.accept(ANNA, NOW),
    "accept-by-another": lambda invitation: invitation.accept(BOB, NOW),
    "complete": lambda invitation: invitation.complete(completion(), NOW),
    "complete-by-another": lambda invitation: invitation.complete(completion(BOB), NOW),
    "revoke": lambda invitation: invitation.revoke("staff", NOW),
    "reset": lambda invitation: invitation.reset("staff", NOW),
    "resend": lambda invitation: invitation.resend("staff", NOW),
    "record-company": lambda invitation: invitation.record_company("created", None, NOW),
    "report-expiry": lambda invitation: invitation.report_expiry(NOW),
}
# What each step does from each of STATES (in order): "change", "none" (nothing to write) or the Conflict's code.
OUTCOMES: dict[str, list[str]] = {
    "accept": ["change", "none", "invitation-completed", "invitation-revoked", "invitation-expired", "none"],
    "accept-by-another": [
        "change",
        "invitation-accepted",
        "invitation-completed",
        "invitation-revoked",
        "invitation-expired",
        "invitation-expired",
    ],
    "complete": ["invitation-pending", "change", "none", "invitation-revoked", "invitation-expired", "invitation-expired"],
    "complete-by-another": [
        "invitation-pending",
        "invitation-not-theirs",
        "invitation-completed",
        "invitation-revoked",
        "invitation-expired",
        "invitation-expired",
    ],
    "revoke": ["change", "change", "invitation-completed", "invitation-revoked", "change", "change"],
    "reset": ["invitation-pending", "change", "invitation-completed", "invitation-revoked", "invitation-expired", "invitation-expired"],
    "resend": ["change", "change", "invitation-completed", "invitation-revoked", "change", "change"],
    "record-company": ["none", "none", "change", "none", "none", "none"],
    "report-expiry": ["invitation-pending", "invitation-accepted", "none", "none", "change", "change"],
}
CASES = [(name, state, outcome) for name, outcomes in OUTCOMES.items() for state, outcome in zip(STATES, outcomes, strict=True)]


@pytest.mark.parametrize(("name", "state", "expected"), CASES, ids=[f"{name}-from-{state}" for name, state, _ in CASES])
def test_every_step_from_every_state(name: str, state: str, expected: str) -> None:
    invitation = in_state(state)
    if expected in ("change", "none"):
        change = STEPS[name](invitation)
        assert (change is not None) == (expected == "change")
        if change is not None:
            assert change.event is not None
            assert change.event.from_status == invitation.effective_status(NOW)
            assert change.event.to_status == change.invitation.effective_status(NOW)
            assert change.event.at == NOW
        return
    with pytest.raises(Conflict) as refused:
        STEPS[name](invitation)
    assert refused.value.code == expected


@pytest.mark.parametrize(
    ("name", "state", "detail"),
    [
        ("accept", "revoked", "Cannot accepted invitation {id}: it is revoked."),
        ("complete", "pending", "Cannot completed invitation {id}: it is pending."),
        ("complete-by-another", "accepted", "Invitation {id} is not accepted by this account."),
        ("revoke", "completed", "Cannot revoked invitation {id}: it is completed."),
        ("reset", "expired", "Cannot redemption invitation {id}: it is expired."),
        ("resend", "revoked", "Cannot email invitation {id}: it is revoked."),
        ("report-expiry", "accepted", "Cannot expired invitation {id}: it is accepted."),
    ],
)
def test_an_illegal_step_is_a_conflict_naming_the_step_and_the_status(name: str, state: str, detail: str) -> None:
    with pytest.raises(Conflict) as refused:
        STEPS[name](in_state(state))
    assert refused.value.detail == detail.format(id=INVITATION_ID)
    assert not refused.value.retryable and (name == "complete-by-another" or isinstance(refused.value, IllegalTransition))


def test_an_illegal_company_outcome_names_its_step() -> None:
    completion_on_revoked = in_state("completed").model_copy(update={"status": REVOKED})
    with pytest.raises(IllegalTransition) as refused:
        completion_on_revoked.record_company("failed", "boom", NOW)
    assert refused.value.detail == f"Cannot company invitation {INVITATION_ID}: it is revoked."


def test_issue_records_a_pending_invitation_with_its_first_send_queued() -> None:
    body = invitation_body(ttlDays=3, redirectUrl="https://portal.rconnect.example/x", message="Welcome!", role="user", language="de")
    change = Invitation.issue(
        InvitationRequest.model_validate(body), invitation_id=INVITATION_ID, actor="staff", redeem_url="https://x.example/r", now=NOW
    )
    invitation, event = change.invitation, change.event
    assert (invitation.message, invitation.role, invitation.language, invitation.invitee.email) == (
        "Welcome!",
        "user",
        "de",
        body["invitee"]["email"],
    )
    assert issued().redirect_url is None and issued().message is None
    assert (invitation.status, invitation.expires_at, invitation.created_at) == (PENDING, NOW + timedelta(days=3), NOW)
    assert invitation.redirect_url == "https://portal.rconnect.example/x" and invitation.invite_redeem_url == "https://x.example/r"
    assert invitation.email is not None and (invitation.email.status, invitation.email.attempt) == ("queued", 1)
    assert event is not None and invitation.creation == event
    assert (event.action, event.actor, event.from_status, event.to_status, event.send_id) == (
        "created",
        "staff",
        None,
        PENDING,
        invitation.email.send_id,
    )
    assert invitation.pending_events == []  # the service adds the lifecycle event
    assert invitation.outstanding_since() == NOW  # the queued send


def test_accept_records_the_account() -> None:
    change = in_state("pending").accept(ANNA, NOW)
    assert change is not None and change.event is not None
    assert (change.invitation.status, change.invitation.accepted_by, change.invitation.accepted_at) == (ACCEPTED, ANNA, NOW)
    assert (change.event.action, change.event.actor, change.event.account) == ("accepted", ANNA.email, ANNA)
    assert change.invitation.is_accepted_by(ANNA) and not change.invitation.is_accepted_by(BOB)


def test_complete_records_create_companys_intent_at_its_own_time() -> None:
    change = in_state("accepted").complete(completion(at=NOW - timedelta(minutes=5)), NOW)
    assert change is not None and change.event is not None
    invitation = change.invitation
    assert (invitation.status, invitation.completed_at, invitation.company_id) == (COMPLETED, NOW, "company-1")
    assert invitation.completion is not None
    assert (invitation.completion.status, invitation.completion.completed_at, invitation.completion.updated_at) == ("pending", NOW, NOW)
    assert (change.event.action, change.event.account, change.event.company_id) == ("completed", ANNA, "company-1")
    assert invitation.outstanding_since() == NOW  # the company is still to be created


def test_a_reset_invitation_can_be_accepted_again_and_the_former_account_cannot_complete_it() -> None:
    reset = step(in_state("accepted").reset("staff", NOW))
    assert (reset.status, reset.accepted_by, reset.accepted_at) == (PENDING, None, None)
    accepted_by_bob = step(reset.accept(BOB, NOW))
    with pytest.raises(Conflict) as refused:
        accepted_by_bob.complete(completion(ANNA), NOW)
    assert refused.value.code == "invitation-not-theirs"


def test_revoke_records_when() -> None:
    change = in_state("accepted").revoke("staff@rconnect.example", NOW)
    assert (change.invitation.status, change.invitation.revoked_at) == (REVOKED, NOW)
    assert change.event is not None and (change.event.action, change.event.from_status, change.event.to_status) == (
        "revoked",
        ACCEPTED,
        REVOKED,
    )


def test_resend_records_the_next_attempt_as_a_new_send() -> None:
    pending = in_state("pending")
    assert pending.email is not None
    change = pending.resend("staff", NOW)
    assert change is not None and change.event is not None and change.invitation.email is not None
    email = change.invitation.email
    assert (email.status, email.attempt, email.queued_at) == ("queued", 2, NOW) and email.send_id != pending.email.send_id
    assert change.invitation.expires_at == pending.expires_at  # not expired: the expiry stays
    assert (change.event.action, change.event.send_id) == ("email-resent", email.send_id)


def test_resending_an_expired_invitation_renews_its_expiry() -> None:
    expired = in_state("expired")
    change = expired.resend("staff", NOW)
    assert change is not None and change.event is not None
    assert change.invitation.expires_at == NOW + timedelta(days=expired.ttl_days)
    assert (change.event.from_status, change.event.to_status) == (EXPIRED, PENDING)
    assert change.invitation.expiry_unreported() == change.invitation.expires_at  # the new expiry is reported when it passes


def test_resend_while_the_last_send_is_queued_is_that_send() -> None:
    assert issued().resend("staff", NOW) is None
    with pytest.raises(Conflict):  # a revoked one is refused whether or not its e-mail has left
        issued().revoke("staff", NOW).invitation.resend("staff", NOW)


def test_resend_without_any_send_is_the_first_attempt() -> None:
    change = in_state("pending").model_copy(update={"email": None}).resend("staff", NOW)
    assert change is not None and change.invitation.email is not None and change.invitation.email.attempt == 1


@pytest.mark.parametrize(
    ("status", "after", "recorded"),
    [
        ("sent", ("queued",), True),
        ("failed", ("queued",), True),
        ("delivered", ("queued", "sent"), True),
        ("bounced", ("queued", "sent"), True),
        ("suppressed", ("queued", "sent"), True),
    ],
)
def test_an_email_outcome_moves_the_send_and_is_audited(status: EmailStatus, after: tuple[EmailStatus, ...], recorded: bool) -> None:
    invitation = issued(NOW - timedelta(minutes=1))
    assert invitation.email is not None
    send_id = invitation.email.send_id
    change = invitation.record_email(send_id, status, after=after, actor="worker", now=NOW, operation_id="op-1", error="why")
    assert change is not None and change.event is not None and change.invitation.email is not None
    email = change.invitation.email
    assert (email.status, email.operation_id, email.error, email.updated_at, email.queued_at) == (
        status,
        "op-1",
        "why",
        NOW,
        invitation.email.queued_at,
    )
    assert (change.event.action, change.event.detail, change.event.send_id) == (f"email-{status}", "why", send_id)
    assert change.event.from_status == change.event.to_status == PENDING


def test_an_email_outcome_not_after_the_given_states_or_for_another_send_is_a_no_op() -> None:
    delivered = issued()
    assert delivered.email is not None
    send_id = delivered.email.send_id
    delivered = step(delivered.record_email(send_id, "delivered", after=("queued", "sent"), actor="acs", now=NOW))
    # The worker's late `sent`, a repeated report, a report about an older send: nothing to record.
    assert delivered.record_email(send_id, "sent", after=("queued",), actor="worker", now=NOW) is None
    assert delivered.record_email(send_id, "delivered", after=("queued", "sent"), actor="acs", now=NOW) is None
    assert delivered.record_email("older-send", "bounced", after=("queued", "sent"), actor="acs", now=NOW) is None
    assert delivered.model_copy(update={"email": None}).record_email(send_id, "sent", after=("queued",), actor="w", now=NOW) is None


def test_an_email_outcome_is_recorded_whatever_the_invitations_status_and_keeps_the_operation_id() -> None:
    revoked = step(in_state("pending").resend("staff", NOW)).revoke("staff", NOW).invitation
    assert revoked.email is not None
    change = revoked.record_email(revoked.email.send_id, "failed", after=("queued",), actor="worker", now=NOW, error="Not sent")
    assert change is not None and change.invitation.status == REVOKED
    assert change.event is not None and change.event.from_status == change.event.to_status == REVOKED
    sent_once = sent(issued())
    assert sent_once.email is not None
    reported = step(sent_once.record_email(sent_once.email.send_id, "bounced", after=("queued", "sent"), actor="acs", now=NOW))
    assert reported.email is not None and reported.email.operation_id == sent_once.email.operation_id


def report(invitation: Invitation, state: DeliveryState, at: datetime | None, detail: str | None = None) -> DeliveryReport:
    assert invitation.email is not None
    return DeliveryReport(operation_id=invitation.email.send_id, state=state, detail=detail, at=at)


def test_a_delivery_report_settles_the_send_with_its_time() -> None:
    invitation = sent(issued())
    change = invitation.settle_email(report(invitation, "delivered", NOW - timedelta(seconds=5)), actor="acs", now=NOW)
    assert change is not None and change.event is not None and change.invitation.email is not None
    email = change.invitation.email
    assert (email.status, email.error, email.reported_at, email.updated_at) == ("delivered", None, NOW - timedelta(seconds=5), NOW)
    assert invitation.email is not None and (change.event.action, change.event.send_id) == ("email-delivered", invitation.email.send_id)
    bounced = step(invitation.settle_email(report(invitation, "bounced", NOW, "550 no such user"), actor="acs", now=NOW))
    assert bounced.email is not None and (bounced.email.status, bounced.email.error) == ("bounced", "550 no such user")
    # A report can overtake the worker's `sent`: it settles the queued send.
    fresh = issued()
    queued = step(fresh.settle_email(report(fresh, "delivered", NOW), actor="acs", now=NOW))
    assert queued.email is not None and queued.email.status == "delivered"


def test_a_later_bounce_after_delivered_is_recorded_with_its_time() -> None:
    invitation = sent(issued())
    delivered = step(invitation.settle_email(report(invitation, "delivered", NOW), actor="acs", now=NOW))
    later = NOW + timedelta(minutes=3)
    change = delivered.settle_email(report(invitation, "bounced", later, "550 mailbox gone"), actor="acs", now=later)
    assert change is not None and change.event is not None and change.invitation.email is not None
    assert (change.invitation.email.status, change.invitation.email.reported_at, change.invitation.email.error) == (
        "bounced",
        later,
        "550 mailbox gone",
    )
    assert (change.event.action, change.event.detail) == ("email-bounced", "550 mailbox gone")


def test_a_duplicate_older_or_untimed_report_never_overwrites_a_newer_one() -> None:
    invitation = sent(issued())
    bounced = step(invitation.settle_email(report(invitation, "bounced", NOW), actor="acs", now=NOW))
    assert bounced.settle_email(report(invitation, "bounced", NOW + timedelta(minutes=1)), actor="acs", now=NOW) is None  # duplicate
    assert bounced.settle_email(report(invitation, "delivered", NOW - timedelta(minutes=1)), actor="acs", now=NOW) is None  # older
    assert bounced.settle_email(report(invitation, "delivered", NOW), actor="acs", now=NOW) is None  # not later
    assert bounced.settle_email(report(invitation, "failed", None), actor="acs", now=NOW) is None  # no time to order it by
    other = DeliveryReport(operation_id="8d0c9d57-8b5e-4f51-9d0f-6a4fd8a2f8f1", state="delivered", at=NOW + timedelta(hours=1))
    assert bounced.settle_email(other, actor="acs", now=NOW) is None  # about another send
    never_sent = issued()
    assert never_sent.email is not None
    failed = step(never_sent.record_email(never_sent.email.send_id, "failed", after=("queued",), actor="w", now=NOW))
    assert failed.settle_email(report(failed, "delivered", NOW), actor="acs", now=NOW) is None, "not handed over: no report can be about it"


def test_a_queued_send_is_put_off_without_an_event_and_is_outstanding_from_when_it_is_due() -> None:
    invitation = issued()
    assert invitation.email is not None and invitation.outstanding_since() == NOW
    due = NOW + timedelta(minutes=40)
    change = invitation.defer_email(invitation.email.send_id, due, NOW, "ACS answered 429 Too Many Requests")
    assert change is not None and change.event is None and change.invitation.email is not None
    email = change.invitation.email
    assert (email.status, email.next_attempt_at, email.error) == ("queued", due, "ACS answered 429 Too Many Requests")
    assert change.invitation.outstanding_since() == due, "the sweeper leaves it until it is due"
    handed_over = step(change.invitation.record_email(email.send_id, "sent", after=("queued",), actor="w", now=due))
    assert handed_over.email is not None and handed_over.email.next_attempt_at is None
    assert invitation.defer_email("another-send", due, NOW) is None
    assert sent(invitation).defer_email(invitation.email.send_id, due, NOW) is None


def test_an_invitation_issued_with_its_place_in_the_quota_queues_its_send_for_then() -> None:
    request = InvitationRequest.model_validate(invitation_body())
    due = NOW + timedelta(hours=2)
    invitation = Invitation.issue(
        request, invitation_id=INVITATION_ID, actor="staff", redeem_url="https://x.example/r", now=NOW, send_at=due
    )
    assert invitation.invitation.email is not None and invitation.invitation.email.next_attempt_at == due


def test_an_email_error_is_noted_on_the_queued_send_without_an_event() -> None:
    invitation = issued()
    assert invitation.email is not None
    later = NOW + timedelta(minutes=1)
    change = invitation.note_email_error(invitation.email.send_id, "429", later)
    assert change is not None and change.event is None and change.invitation.email is not None
    assert (change.invitation.email.status, change.invitation.email.error, change.invitation.email.updated_at) == ("queued", "429", later)
    assert invitation.note_email_error("another-send", "429", later) is None
    assert sent(invitation).note_email_error(invitation.email.send_id, "429", later) is None


@pytest.mark.parametrize(("status", "action", "error"), [("created", "company-created", None), ("failed", "company-failed", "boom")])
def test_the_company_outcome_is_recorded_once(status: CompanyCreationStatus, action: str, error: str | None) -> None:
    completed = in_state("completed")
    later = NOW + timedelta(seconds=5)
    change = completed.record_company(status, error, later)
    assert change is not None and change.event is not None and change.invitation.completion is not None
    outcome = change.invitation.completion
    assert (outcome.status, outcome.error, outcome.updated_at, outcome.completed_at) == (status, error, later, NOW)
    assert (change.event.action, change.event.actor, change.event.detail) == (action, "company-create", error)
    assert change.invitation.outstanding_since() is None
    assert change.invitation.record_company("failed", "late", NOW) is None  # another delivery's outcome stands


def test_a_company_error_is_noted_on_the_pending_completion_only() -> None:
    completed = in_state("completed")
    change = completed.note_company_error("company-1", "storage down")
    assert change is not None and change.event is None and change.invitation.completion is not None
    assert (change.invitation.completion.status, change.invitation.completion.error) == ("pending", "storage down")
    assert completed.note_company_error("another-company", "x") is None
    created = step(completed.record_company("created", None, NOW))
    assert created.note_company_error("company-1", "x") is None
    assert in_state("pending").note_company_error("company-1", "x") is None


def test_an_expiry_is_reported_once_and_a_renewed_one_again() -> None:
    expired = in_state("expired")
    assert expired.expiry_unreported() == expired.expires_at
    change = expired.report_expiry(NOW)
    assert change is not None and change.event is not None
    assert (change.event.action, change.event.actor, change.event.from_status, change.event.to_status) == (
        "expired",
        "expiry",
        EXPIRED,
        EXPIRED,
    )
    reported = change.invitation
    assert reported.expiry_unreported() is None and reported.report_expiry(NOW) is None
    renewed = step(reported.resend("staff", NOW))
    with pytest.raises(Conflict):  # renewed: nothing expired to report until the new expiry passes
        renewed.report_expiry(NOW)
    assert step(renewed.report_expiry(renewed.expires_at)).expiry_reported == renewed.expires_at


def test_a_steps_lifecycle_event_is_pending_under_its_audit_key() -> None:
    change = in_state("pending").revoke("staff", NOW)
    assert change.event is not None
    [pending] = pending_for(change.event)
    assert pending.event == change.event and pending.key == audit_key(change.event)
    assert pending.key.startswith("audit-20300305T120000000000Z-")
    resent = in_state("pending").resend("staff", NOW)
    assert resent is not None and pending_for(resent.event) == []  # a resend's bookkeeping publishes nothing
    assert pending_for(None) == []


def test_audit_keys_differ_for_different_events_at_the_same_time() -> None:
    first = in_state("pending").revoke("staff-a", NOW).event
    second = in_state("pending").revoke("staff-b", NOW).event
    assert first is not None and second is not None and audit_key(first) != audit_key(second)


# -- the reminder --------------------------------------------------------------------------------------

DAYS_BEFORE = 2


def settled(invitation: Invitation, state: DeliveryState = "delivered") -> Invitation:
    """The invitation once ACS reported on its e-mail."""
    assert invitation.email is not None
    report = DeliveryReport(operation_id=invitation.email.send_id, state=state, at=NOW)
    return step(invitation.settle_email(report, actor="acs", now=NOW))


def remind_window(invitation: Invitation) -> datetime:
    return invitation.expires_at - timedelta(days=DAYS_BEFORE)


def test_a_delivered_pending_invitation_is_reminded_once_in_its_last_days() -> None:
    delivered = settled(in_state("pending"))
    assert delivered.reminder_expiry() == delivered.expires_at
    assert delivered.remind(remind_window(delivered) - timedelta(seconds=1), DAYS_BEFORE) is None, "too early"
    at = remind_window(delivered)
    change = delivered.remind(at, DAYS_BEFORE)
    assert change is not None and change.event is not None and change.invitation.email is not None
    reminder = change.invitation.email
    assert (reminder.kind, reminder.status, reminder.attempt) == ("reminder", "queued", 2)
    assert (change.event.action, change.event.actor, change.event.send_id) == ("reminder-queued", "reminder", reminder.send_id)
    assert (change.event.from_status, change.event.to_status) == (PENDING, PENDING)
    assert [pending.event.action for pending in pending_for(change.event)] == ["reminder-queued"], "a lifecycle event"
    reminded = change.invitation
    assert (reminded.reminded_at, reminded.reminder_expiry(), reminded.outstanding_since()) == (at, None, at)
    assert reminded.remind(at, DAYS_BEFORE) is None, "once"
    assert settled(sent_reminder(reminded)).remind(at + timedelta(hours=1), DAYS_BEFORE) is None, "not after the reminder's own delivery"


def sent_reminder(invitation: Invitation) -> Invitation:
    assert invitation.email is not None
    return step(invitation.record_email(invitation.email.send_id, "sent", after=("queued",), actor="worker", now=NOW))


@pytest.mark.parametrize("state", ["accepted", "completed", "revoked", "expired", "expired-accepted"])
def test_no_reminder_once_signed_in_closed_or_expired(state: str) -> None:
    invitation = in_state(state)
    if invitation.email is not None and invitation.email.status == "sent":
        invitation = settled(invitation)
    assert invitation.remind(NOW, DAYS_BEFORE) is None
    if invitation.effective_status(NOW) != EXPIRED:  # in the reminder's window, but not pending
        assert invitation.reminder_expiry() is None
        assert invitation.remind(invitation.expires_at - timedelta(seconds=1), DAYS_BEFORE) is None


@pytest.mark.parametrize("state", ["bounced", "suppressed", "failed"])
def test_no_reminder_for_an_address_the_email_did_not_reach(state: DeliveryState) -> None:
    invitation = settled(in_state("pending"), state)
    assert invitation.reminder_expiry() is None
    assert invitation.remind(remind_window(invitation), DAYS_BEFORE) is None


def test_no_reminder_before_the_email_is_delivered_nor_when_staff_opted_out_or_the_invitation_is_short() -> None:
    pending = in_state("pending")  # sent, no delivery report yet
    assert pending.remind(remind_window(pending), DAYS_BEFORE) is None
    request = InvitationRequest.model_validate(invitation_body(reminders=False))
    opted_out = Invitation.issue(request, invitation_id=INVITATION_ID, actor="staff", redeem_url="https://x.example/r", now=NOW)
    quiet = settled(sent(opted_out.invitation))
    assert quiet.reminders is False and quiet.reminder_expiry() is None
    assert quiet.remind(remind_window(quiet), DAYS_BEFORE) is None
    short = settled(sent(issued(ttl_days=DAYS_BEFORE)))
    assert short.remind(remind_window(short) + timedelta(hours=1), DAYS_BEFORE) is None, "it would follow the invitation at once"
    delivered = settled(pending)
    assert delivered.remind(remind_window(delivered), 0) is None, "0 days: reminders off"


# -- notices to the inviter -------------------------------------------------------------------------------


def with_inviter_address(invitation: Invitation) -> Invitation:
    return invitation.model_copy(update={"inviter": invitation.inviter.model_copy(update={"email": "tamer@gfms.example"})})


def test_the_inviter_is_told_once_per_kind_and_only_with_an_address() -> None:
    pending = with_inviter_address(in_state("pending"))
    noticed = pending.notify_inviter("bounced", NOW)
    assert noticed is not None and [(n.kind, n.status) for n in noticed.inviter_notices] == [("bounced", "queued")]
    assert noticed.outstanding_since() == NOW, "the sweeper queues it again if its message is lost"
    assert noticed.notify_inviter("bounced", NOW) is None, "once per kind"
    assert noticed.notify_inviter("expired", NOW) is not None
    anonymous = pending.model_copy(update={"inviter": pending.inviter.model_copy(update={"email": None})})
    assert anonymous.notify_inviter("completed", NOW) is None


def test_a_notice_is_recorded_sent_once() -> None:
    noticed = with_inviter_address(in_state("pending")).notify_inviter("expired", NOW)
    assert noticed is not None
    [notice] = noticed.inviter_notices
    change = noticed.record_notice(notice.send_id, "sent", NOW)
    assert change is not None and change.event is not None
    assert (change.event.action, change.event.send_id, change.event.detail) == ("inviter-told", notice.send_id, "expired")
    assert change.invitation.outstanding_since() is None
    assert change.invitation.record_notice(notice.send_id, "sent", NOW) is None
    assert noticed.record_notice("another", "failed", NOW, "x") is None
