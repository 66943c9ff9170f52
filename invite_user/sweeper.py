"""Timer `sweep_outstanding_intents`: re-enqueue intents whose queue message was lost, and hand over
bulk batches whose hand-over was not recorded (see shared.services.intents).

The schedule is the app setting SWEEP_SCHEDULE (NCRONTAB with seconds; every minute in Azure).
"""

import azure.functions as func

from invite_user.blueprint import bp
from shared.composition import services


@bp.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", use_monitor=False)
def sweep_outstanding_intents(timer: func.TimerRequest) -> None:
    services().sweeper.sweep()
