"""The pharmacist's pages: recording a bag (refusing what the rules refuse) and the board."""

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from infusions.models import DosePreparation, InfusionStatus, PreparationStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NURSE, PHARMACIST
from tests.factories import make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def pharmacist(client_as: Callable[[str | None], Client]) -> Client:
    return client_as(PHARMACIST)


def valid_bag(patient: Any, **changes: Any) -> dict[str, Any]:
    diluted = timezone.localtime(clock.now() - timedelta(minutes=5), clock.clinic_zone())
    values = {
        "patient": patient.id,
        "dose_mg": "300",
        "diluent": "0.9% NaCl",
        "diluent_volume_ml": "100",
        "prepared_at": diluted.strftime("%Y-%m-%dT%H:%M"),
        "storage": "room",
    }
    values.update(changes)
    return values


def iso(moment: Any) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_valid_bag_is_recorded_and_appears_on_the_board(pharmacist: Client) -> None:
    patient = make_patient()
    response = pharmacist.post(reverse("infusions:prepare"), valid_bag(patient), follow=True)

    bag = DosePreparation.objects.get(patient=patient)
    page = response.content.decode()
    assert bag.status == PreparationStatus.READY
    assert bag.expires_at - bag.prepared_at == timedelta(hours=8)
    assert f'data-countdown-to="{iso(bag.expires_at)}"' in page
    assert patient.mrn in page


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"diluent": "5% glucose"}, "diluent", "0.9% sodium chloride (0.9% NaCl) only"),
        ({"dose_mg": "150"}, "dose_mg", "300 mg"),
        ({"diluent_volume_ml": "250"}, "diluent_volume_ml", "100 mL"),
        ({"frozen": "on"}, "frozen", "must be discarded"),
        ({"shaken": "on"}, "shaken", "must be discarded"),
        ({"prepared_at": "2999-01-01T10:00"}, "prepared_at", "future"),
    ],
)
def test_the_form_refuses_what_the_rules_refuse_beside_the_field(
    pharmacist: Client, change: dict[str, str], field: str, words: str
) -> None:
    patient = make_patient()
    response = pharmacist.post(reverse("infusions:prepare"), valid_bag(patient, **change))

    page = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in page
    error = page.split(f'id="id_{field}-error">', 1)[1].split("</p>", 1)[0]
    assert words in error
    assert not DosePreparation.objects.exists()


def test_the_board_marks_bags_near_and_past_their_limit(pharmacist: Client) -> None:
    now = clock.now()
    fresh = make_preparation(make_patient(), prepared_at=now - timedelta(hours=1))
    near = make_preparation(make_patient(), prepared_at=now - timedelta(hours=7, minutes=30))
    expired = make_preparation(make_patient(), prepared_at=now - timedelta(hours=9))

    page = pharmacist.get(reverse("infusions:bags")).content.decode()

    def row(bag: DosePreparation) -> str:
        return page.split(f'id="bag-{bag.id}"', 1)[1].split("</tr>", 1)[0]

    assert "is-warning" not in row(fresh).split(">", 1)[0]
    assert "is-warning" in row(near).split(">", 1)[0]
    assert "is-done" in row(expired).split(">", 1)[0]
    assert 'data-warn-seconds="3600"' in row(fresh)
    assert "Expired" in row(expired)
    assert "data-server-now=" in page


def test_a_bag_is_discarded_with_a_reason(pharmacist: Client) -> None:
    bag = make_preparation(make_patient())
    refused = pharmacist.post(
        reverse("infusions:bag_discard", args=[bag.id]), {"reason": " "}, HTTP_HX_REQUEST="true"
    )
    assert "Say why the bag is discarded." in refused.content.decode()
    bag.refresh_from_db()
    assert bag.status == PreparationStatus.READY

    done = pharmacist.post(
        reverse("infusions:bag_discard", args=[bag.id]),
        {"reason": "Dropped"},
        HTTP_HX_REQUEST="true",
    )
    bag.refresh_from_db()
    assert bag.status == PreparationStatus.DISCARDED
    assert bag.discarded_reason == "Dropped"
    assert "Discarded: Dropped" in done.content.decode()


def test_a_bag_is_marked_used_unless_an_infusion_will_use_it(pharmacist: Client) -> None:
    loose = make_preparation(make_patient())
    pharmacist.post(reverse("infusions:bag_used", args=[loose.id]))
    loose.refresh_from_db()
    assert loose.status == PreparationStatus.USED

    patient = make_patient()
    planned = make_infusion(patient, status=InfusionStatus.PLANNED)
    response = pharmacist.post(
        reverse("infusions:bag_used", args=[planned.preparation_id]), follow=True
    )
    assert "starting it marks the bag used" in response.content.decode()
    planned.preparation.refresh_from_db()
    assert planned.preparation.status == PreparationStatus.READY


def test_an_expired_bag_cannot_be_marked_used(pharmacist: Client) -> None:
    expired = make_preparation(make_patient(), prepared_at=clock.now() - timedelta(hours=9))
    response = pharmacist.post(
        reverse("infusions:bag_used", args=[expired.id]), HTTP_HX_REQUEST="true"
    )
    assert "past its stability limit: discard it" in response.content.decode()
    expired.refresh_from_db()
    assert expired.status == PreparationStatus.READY


def test_the_day_lists_show_a_name_as_text_never_as_markup(
    pharmacist: Client, client_as: Callable[[str | None], Client]
) -> None:
    """The rows of the bag board and the nurse's list (rendered by Jinja2) escape every
    value, as the Django templates do, and their forms carry a valid CSRF token."""
    patient = make_patient(
        family_name='<img src=x onerror="alert(1)">',
        treatment_start=clock.clinic_today(),
    )
    bag = make_preparation(patient, prepared_at=clock.now() - timedelta(minutes=5))
    board = pharmacist.get(reverse("infusions:bags")).content.decode()
    today = client_as(NURSE).get(reverse("infusions:today")).content.decode()
    for page in (board, today):
        assert '<img src=x onerror="alert(1)">' not in page
        assert "&lt;img src=x onerror=" in page  # shown, as text
    assert f'id="bag-{bag.id}"' in board
    # The board's forms post with the page's token (a client that checks CSRF).
    checked = Client(enforce_csrf_checks=True)
    checked.cookies = pharmacist.cookies
    page = checked.get(reverse("infusions:bags")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    used = checked.post(
        reverse("infusions:bag_used", args=[bag.id]), {"csrfmiddlewaretoken": token}
    )
    assert used.status_code == 302
    bag.refresh_from_db()
    assert bag.status == PreparationStatus.USED


def test_the_nurses_rows_link_each_visit_and_each_checklist(
    client_as: Callable[[str | None], Client],
) -> None:
    planned = make_infusion(make_patient(treatment_start=clock.clinic_today()))
    waiting = make_patient(treatment_start=clock.clinic_today())
    page = client_as(NURSE).get(reverse("infusions:today")).content.decode()
    assert f'href="{reverse("infusions:infusion", args=[planned.id])}"' in page
    assert f'href="{reverse("infusions:checklist", args=[waiting.id])}"' in page
