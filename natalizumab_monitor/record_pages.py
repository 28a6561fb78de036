"""The one page that records a clinical record of a patient: form, service, errors, redirect."""

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from patients.models import Patient

from .forms import RecordForm


def record_page(
    request: HttpRequest, patient_id: UUID, form_class: type[RecordForm]
) -> HttpResponse:
    """GET shows the empty form; POST writes through the form's service, or shows its errors."""
    patient = get_object_or_404(Patient, pk=patient_id)
    form = form_class(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            form.write(patient=patient, user=request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, form.success_message)
            return redirect("patients:detail", patient_id=patient.id)
    return render(
        request,
        form.page_template,
        {"patient": patient, "form": form, "title": form.title},
        status=400 if form.is_bound and form.errors else 200,
    )
