"""The neurologist's patient page: visits the pre-infusion checklist holds, and clearing them."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from infusions.models import Infusion, InfusionStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE
from patients.models import Patient
from tests.factories import make_checklist, make_cleared_patient, make_infusion

pytestmark = pytest.mark.django_db

HEADING = "Visits held by the checklist"


def held_visit(patient: Patient, nurse: User, **answers: bool) -> Infusion:
    checklist = make_checklist(patient, nurse, **(answers or {"current_infection": True}))
    return make_infusion(patient, checklist=checklist)


def clear_url(infusion: Infusion) -> str:
    return reverse("patients:clear_checklist", args=[infusion.patient_id, infusion.id])


def page_of(client: Client, patient: Patient) -> str:
    response = client.get(reverse("patients:detail", args=[patient.id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_patient_page_lists_a_visit_the_checklist_holds(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE], current_infection=True, immunocompromised=True)
    # Not held: all "no", already cleared, or no longer planned.
    make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))
    cleared = make_checklist(
        patient,
        users[NURSE],
        current_infection=True,
        cleared_by=users[NEUROLOGIST],
        cleared_at=clock.now(),
        clearance_note="Treated",
    )
    make_infusion(patient, checklist=cleared)
    make_infusion(
        patient,
        checklist=make_checklist(patient, users[NURSE], current_infection=True),
        status=InfusionStatus.CANCELLED,
    )

    page = page_of(client_as(NEUROLOGIST), patient)

    assert HEADING in page
    assert "(1)" in page.split(HEADING, 1)[1].split("</h2>", 1)[0]
    section = page.split('id="held-visits"', 1)[1].split("</section>", 1)[0]
    assert "Current infection" in section
    assert "Condition that weakens the immune system" in section
    assert "Checklist asked" in section
    assert f'action="{clear_url(held)}"' in section
    assert f'<label for="clear-note-{held.id}">' in section
    assert f'id="clear-note-{held.id}" name="note"' in section


def test_a_neurologist_clears_the_visit_with_a_note(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE])
    neurologist = client_as(NEUROLOGIST)
    prescriber = User.objects.get(pk=neurologist.session["_auth_user_id"])

    response = neurologist.post(clear_url(held), {"note": "  Cystitis treated, afebrile  "})

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.id])
    assert held.checklist is not None
    held.checklist.refresh_from_db()
    assert held.checklist.cleared_by == prescriber
    assert held.checklist.cleared_at is not None
    assert held.checklist.clearance_note == "Cystitis treated, afebrile"
    page = neurologist.get(response["Location"]).content.decode()
    assert "Checklist cleared" in page
    assert HEADING not in page
    assert clear_url(held) not in page


def test_a_blank_note_is_shown_beside_the_field_and_changes_nothing(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE])
    version = held.version

    response = client_as(NEUROLOGIST).post(clear_url(held), {"note": "   "})

    assert response.status_code == 400
    page = response.content.decode()
    error = page.split(f'id="clear-note-{held.id}-error">', 1)[1].split("</p>", 1)[0]
    assert "Say why the patient is cleared" in error
    assert f'aria-describedby="clear-note-{held.id}-error"' in page
    held.refresh_from_db()
    assert held.version == version
    assert held.checklist is not None
    assert held.checklist.cleared_at is None and held.checklist.cleared_by is None
    assert held.checklist.clearance_note == ""


def test_a_conflict_is_shown_as_a_message(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE])
    neurologist = client_as(NEUROLOGIST)
    assert neurologist.post(clear_url(held), {"note": "Treated"}).status_code == 302

    again = neurologist.post(clear_url(held), {"note": "Again"}, follow=True)

    assert again.status_code == 200
    assert "Not cleared: The checklist was cleared already." in again.content.decode()
    assert held.checklist is not None
    held.checklist.refresh_from_db()
    assert held.checklist.clearance_note == "Treated"


def test_not_authorized_is_not_offered_a_clearance(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE], authorized=False)

    page = page_of(client_as(NEUROLOGIST), patient)

    section = page.split('id="held-visits"', 1)[1].split("</section>", 1)[0]
    assert "Not authorized" in section
    assert "clearing the checklist does not lift this" in section
    assert clear_url(held) not in section


@pytest.mark.parametrize("role", [NURSE, None])
def test_only_a_neurologist_clears_a_checklist(
    client_as: Callable[[str | None], Client], users: dict[str, User], role: str | None
) -> None:
    patient = make_cleared_patient()
    held = held_visit(patient, users[NURSE])

    response = client_as(role).post(clear_url(held), {"note": "Cleared by the wrong person"})

    assert response.status_code == (403 if role else 302)
    assert held.checklist is not None
    held.checklist.refresh_from_db()
    assert held.checklist.cleared_at is None
