"""May this infusion start now? The gate asks the rules engine, as the alerts do.

The page, the clearance endpoint, the alerts and this gate all read the same findings, so
they never disagree.
"""

from datetime import datetime

from alerts.clearance import clearance_for
from alerts.rules import GateResult

from .models import Infusion


def check_gate(*, infusion: Infusion, at: datetime) -> GateResult:
    """The engine's answer for this infusion, its checklist and its bag at time `at`."""
    return clearance_for(
        infusion.patient_id,
        infusion_id=infusion.pk,
        preparation_id=infusion.preparation_id,
        now=at,
    )
