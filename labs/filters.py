"""Query filters of the lab, antibody and MRI endpoints."""

from natalizumab_monitor.filters import ZonedDateTimeFilter
from patients.filters import PatientRecordFilter

from .models import AntibodyTest, LabResult, MriStudy


class LabResultFilter(PatientRecordFilter):
    collected_after = ZonedDateTimeFilter(field_name="collected_at", lookup_expr="gt")

    class Meta:
        model = LabResult
        fields = ["patient", "analyte", "collected_after"]


class AntibodyTestFilter(PatientRecordFilter):
    class Meta:
        model = AntibodyTest
        fields = ["patient", "target"]


class MriStudyFilter(PatientRecordFilter):
    class Meta:
        model = MriStudy
        fields = ["patient"]
