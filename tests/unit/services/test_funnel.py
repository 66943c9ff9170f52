"""FunnelService over the fakes: the first open of the link recorded once, every step counted once on
its day with the time since the step before, stalled invitations listed with their inviter until they
move on, and the funnel's counts equal to a direct count of the stored invitations' histories."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from shared.domain.errors import InvalidInput, Unavailable
from shared.domain.funnel import FunnelQuery, Tally
from shared.domain.models import Completion, DeliveryReport, SignedInUser
from shared.services.invitations import InvitationService
from tests.support import invitation_body
from tests.unit.services.conftest import Fakes, account, create
from tests.unit.services_on_fakes import STALLED_AFTER_HOURS

# The audit actions the funnel counts, as the histories spell them: the direct count's key.
STEP_OF_ACTION = {
    "created": "created",
    "email-delivered": "delivered",
    "link-opened": "opened",
    "accepted": "signedIn",
    "completed": "completed",
    "revoked": "revoked",
    "expired": "expired",
    "email-bounced": "bounced",
}


def query(first: date | None = None, last: date | None = None) -> FunnelQuery:
    return FunnelQuery.model_validate({"from": first, "to": last})


def deliver(service: InvitationService, invitation_id: str, state: str = "delivered") -> None:
    email = service.get(invitation_id).email
    assert email is not None
    report = DeliveryReport.model_validate({"operationId": email.send_id, "state": state, "at": service.clock()})
    service.settle_email(invitation_id, report, actor="acs")


def open_link(service: InvitationService, invitation_id: str) -> None:
    service.open_link(service.load(invitation_id))


def sign_in(service: InvitationService, invitation_id: str, object_id: str = "oid-anna") -> SignedInUser:
    user = account(service.get(invitation_id).invitee.email, object_id=object_id)
    service.accept(service.load(invitation_id), user)
    return user


def complete(service: InvitationService, invitation_id: str, user: SignedInUser) -> None:
    invitation = service.get(invitation_id)
    completion = Completion(
        company_id=str(uuid.uuid4()),
        company=invitation.company,
        contact_name="Anna",
        account=user,
        completed_at=service.clock(),
        updated_at=service.clock(),
    )
    service.complete(service.load(invitation_id), completion)


def test_the_first_open_is_recorded_once_and_only_while_pending(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    open_link(invitation_service, view.id)
    first = invitation_service.get(view.id).opened_at
    fakes.clock.advance(minutes=5)
    open_link(invitation_service, view.id)
    assert invitation_service.get(view.id).opened_at == first == fakes.clock.now - timedelta(minutes=5)
    assert [event.action for event in invitation_service.read(view.id).history] == ["created", "link-opened"]
    revoked = create(invitation_service)
    invitation_service.revoke(revoked.id, "staff")
    open_link(invitation_service, revoked.id)
    assert invitation_service.get(revoked.id).opened_at is None


def test_the_funnel_counts_equal_a_direct_count_of_the_stored_invitations(fakes: Fakes, invitation_service: InvitationService) -> None:
    service, clock = invitation_service, fakes.clock
    start = clock.now
    ids = {name: create(service, invitee={"email": f"{name}@contoso.example", "displayName": name}).id for name in "ABCDEG"}
    ids["F"] = create(service, ttlDays=1).id
    clock.advance(minutes=10)
    for name in "ABEG":
        deliver(service, ids[name])
    deliver(service, ids["A"])  # a duplicate report: a no-op, not counted again
    deliver(service, ids["C"], "bounced")
    service.revoke(ids["D"], "staff")
    clock.advance(hours=1)
    for name in "ABEG":
        open_link(service, ids[name])
    open_link(service, ids["A"])  # a later open: nothing written, nothing counted
    clock.advance(minutes=5)
    anna = sign_in(service, ids["A"])
    sign_in(service, ids["E"])
    sign_in(service, ids["G"])
    service.reset(ids["G"], "staff")
    sign_in(service, ids["G"], object_id="oid-other")  # signed in again: counted again, as its history shows
    clock.advance(minutes=20)
    complete(service, ids["A"], anna)
    clock.advance(days=3)  # past F's expiry and the stall threshold, before the others' expiry
    service.report_expiry(service.get(ids["F"]))
    service.finish_handovers()

    funnel = fakes.funnel.report(query(start.date(), clock.now.date()))
    direct = Counter(
        STEP_OF_ACTION[event.action]
        for invitation_id in ids.values()
        for event in service.read(invitation_id).history
        if event.action in STEP_OF_ACTION
    )
    assert funnel.counts == {step: direct.get(step, 0) for step in funnel.counts}
    assert funnel.counts == {
        "created": 7,
        "delivered": 4,
        "opened": 4,
        "signedIn": 4,
        "completed": 1,
        "revoked": 1,
        "expired": 1,
        "bounced": 1,
    }
    durations = funnel.durations
    assert (durations["createdToDelivered"].samples, durations["createdToDelivered"].median_seconds) == (4, 15 * 60)
    assert (durations["deliveredToOpened"].samples, durations["deliveredToOpened"].p90_seconds) == (4, 3600)
    assert (durations["openedToSignedIn"].samples, durations["openedToSignedIn"].median_seconds) == (4, 5 * 60)
    assert (durations["signedInToCompleted"].samples, durations["signedInToCompleted"].median_seconds) == (1, 60 * 60)
    # B opened and never signed in; E signed in and never completed; G was reset, and signed in again.
    stalled = {candidate.invitation_id: candidate.stage for candidate in funnel.stalled}
    assert stalled == {ids["B"]: "opened", ids["E"]: "signedIn", ids["G"]: "signedIn"}
    assert funnel.stalled[0].inviter.name == invitation_body()["inviter"]["name"]
    assert funnel.stalled_after_hours == STALLED_AFTER_HOURS


def test_steps_count_on_their_day_and_a_range_reads_its_days(fakes: Fakes, invitation_service: InvitationService) -> None:
    first_day = fakes.clock.now.date()
    create(invitation_service)
    fakes.clock.advance(days=1)
    create(invitation_service)
    invitation_service.finish_handovers()
    assert fakes.funnel.report(query(first_day, first_day)).counts["created"] == 1
    assert fakes.funnel.report(query(first_day, first_day + timedelta(days=1))).counts["created"] == 2
    assert fakes.funnel.report(query()).counts["created"] == 2  # default: the 30 days to today


def test_stalled_means_longer_than_the_setting_and_moving_on_clears_it(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    open_link(invitation_service, view.id)
    invitation_service.finish_handovers()
    fakes.clock.advance(hours=STALLED_AFTER_HOURS - 1)
    assert fakes.funnel.report(query()).stalled == []
    fakes.clock.advance(hours=2)
    assert [c.stage for c in fakes.funnel.report(query()).stalled] == ["opened"]
    invitation_service.revoke(view.id, "staff")
    invitation_service.finish_handovers()
    assert fakes.funnel.report(query()).stalled == []


@pytest.mark.parametrize(("first", "last"), [(date(2030, 3, 5), date(2030, 3, 4)), (date(2029, 1, 1), date(2030, 3, 5))])
def test_a_reversed_or_overlong_range_is_invalid_input(fakes: Fakes, first: date, last: date) -> None:
    with pytest.raises(InvalidInput):
        fakes.funnel.report(query(first, last))


def test_a_failing_rollup_loses_the_count_not_the_step(
    fakes: Fakes, invitation_service: InvitationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: object) -> None:
        raise Unavailable("storage down")

    monkeypatch.setattr(fakes.funnel_store, "add", down)
    view = create(invitation_service)
    invitation_service.finish_handovers()
    assert invitation_service.get(view.id).status == "pending"
    assert fakes.funnel.report(query()).counts["created"] == 0


def test_steps_of_concurrent_requests_are_added_together(fakes: Fakes, invitation_service: InvitationService) -> None:
    writes: list[int] = []
    add = fakes.funnel_store.add

    def slow_add(tallies: Sequence[Tally]) -> None:
        writes.append(len(tallies))
        time.sleep(0.05)  # while one thread writes the day's row, the others' steps wait for it
        add(tallies)

    fakes.funnel_store.add = slow_add  # type: ignore[method-assign]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: create(invitation_service), range(40)))
    invitation_service.finish_handovers()
    assert fakes.funnel.report(query()).counts["created"] == sum(writes) == 40
    assert len(writes) < 40
