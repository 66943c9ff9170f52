"""Timer: remove the sign-in flows that expired unused (someone opened the link and left).

The schedule is the app setting SIGN_IN_CLEANUP_SCHEDULE (NCRONTAB with seconds; every ten
minutes in Azure). A flow lives SIGN_IN_MAX_AGE_SECONDS; an expired one is refused by the
callback anyway, so a late run only leaves rows a little longer.
"""

import logging

import azure.functions as func

from accept_invitation.blueprint import bp
from shared.composition import services

log = logging.getLogger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="%SIGN_IN_CLEANUP_SCHEDULE%", run_on_startup=False, use_monitor=False)
def remove_expired_sign_ins(timer: func.TimerRequest) -> None:
    removed = services().sign_in.remove_expired_flows()
    if removed:
        log.info("Removed %d expired sign-in flows", removed)
