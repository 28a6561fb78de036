"""REST endpoints of lab results, antibody tests and MRI studies."""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from natalizumab_monitor.api import (
    FlagField,
    NumberField,
    RecordViewSet,
    WholeNumberField,
    ZonedDateTimeField,
    record_schema,
)
from patients.api import patient_field

from . import selectors, services
from .filters import AntibodyTestFilter, LabResultFilter, MriStudyFilter
from .models import (
    UCUM_UNITS,
    Analyte,
    AntibodyResult,
    AntibodyTarget,
    AntibodyTest,
    LabResult,
    MriStudy,
)

LAB_VALUE_MAX = max(services.PLAUSIBLE_MAX.values())
UNITS = sorted({unit for units in UCUM_UNITS.values() for unit in units})


class LabResultSerializer(serializers.ModelSerializer):
    loinc = serializers.CharField(read_only=True, help_text="LOINC code of the analyte.")

    class Meta:
        model = LabResult
        fields = [
            "id",
            "patient",
            "analyte",
            "loinc",
            "value",
            "unit",
            "reference_low",
            "reference_high",
            "collected_at",
            "created_at",
        ]
        read_only_fields = fields


class LabResultInputSerializer(serializers.Serializer):
    patient = patient_field()
    analyte = serializers.ChoiceField(choices=Analyte.choices)
    value = NumberField(
        max_value=LAB_VALUE_MAX,
        places=4,
        help_text="In `unit`; refused above what a lab could report for the analyte.",
    )
    unit = serializers.ChoiceField(
        choices=UNITS,
        error_messages={"invalid_choice": "{input!r} is not a UCUM unit of these analytes."},
        help_text="UCUM: U/L (ALT, AST); m[IU]/L or u[IU]/mL (TSH); pmol/L or ng/dL (FT4); "
        "10*9/L or 10*3/uL (NEUT, LYMPH, MONO, PLT).",
    )
    reference_low = NumberField(max_value=LAB_VALUE_MAX, places=4, required=False, allow_null=True)
    reference_high = NumberField(
        max_value=LAB_VALUE_MAX, places=4, help_text="The upper limit of normal of this lab."
    )
    collected_at = ZonedDateTimeField()


@record_schema(LabResultInputSerializer, LabResultSerializer, summary="lab results")
class LabResultViewSet(RecordViewSet):
    required_permissions = {
        "list": ("labs.view_labresult",),
        "retrieve": ("labs.view_labresult",),
        "create": ("labs.add_labresult",),
    }
    filterset_class = LabResultFilter
    output_serializer = LabResultSerializer
    input_serializer = LabResultInputSerializer

    def select(self) -> QuerySet[LabResult]:
        return selectors.lab_result_list()

    def record(self, **data: Any) -> LabResult:
        return services.record_lab_result(**data)


class AntibodyTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = AntibodyTest
        fields = ["id", "patient", "target", "result", "index", "collected_at", "created_at"]
        read_only_fields = fields


class AntibodyTestInputSerializer(serializers.Serializer):
    patient = patient_field()
    target = serializers.ChoiceField(choices=AntibodyTarget.choices)
    result = serializers.ChoiceField(choices=AntibodyResult.choices)
    index = NumberField(
        max_value=services.JCV_INDEX_MAX,
        places=2,
        required=False,
        allow_null=True,
        help_text="Anti-JCV antibody index; JCV tests only.",
    )
    collected_at = ZonedDateTimeField()


@record_schema(AntibodyTestInputSerializer, AntibodyTestSerializer, summary="antibody tests")
class AntibodyTestViewSet(RecordViewSet):
    required_permissions = {
        "list": ("labs.view_antibodytest",),
        "retrieve": ("labs.view_antibodytest",),
        "create": ("labs.add_antibodytest",),
    }
    filterset_class = AntibodyTestFilter
    output_serializer = AntibodyTestSerializer
    input_serializer = AntibodyTestInputSerializer

    def select(self) -> QuerySet[AntibodyTest]:
        return selectors.antibody_test_list()

    def record(self, **data: Any) -> AntibodyTest:
        return services.record_antibody_test(**data)


class MriStudySerializer(serializers.ModelSerializer):
    class Meta:
        model = MriStudy
        fields = [
            "id",
            "patient",
            "performed_on",
            "gd_enhancing_lesions",
            "new_or_enlarging_t2_lesions",
            "pml_suspected",
            "created_at",
        ]
        read_only_fields = fields


class MriStudyInputSerializer(serializers.Serializer):
    patient = patient_field()
    performed_on = serializers.DateField()
    gd_enhancing_lesions = WholeNumberField(min_value=0, max_value=services.MRI_LESIONS_MAX)
    new_or_enlarging_t2_lesions = WholeNumberField(min_value=0, max_value=services.MRI_LESIONS_MAX)
    pml_suspected = FlagField(required=False, help_text="Read as possible PML.")


@record_schema(MriStudyInputSerializer, MriStudySerializer, summary="MRI studies")
class MriStudyViewSet(RecordViewSet):
    required_permissions = {
        "list": ("labs.view_mristudy",),
        "retrieve": ("labs.view_mristudy",),
        "create": ("labs.add_mristudy",),
    }
    filterset_class = MriStudyFilter
    output_serializer = MriStudySerializer
    input_serializer = MriStudyInputSerializer

    def select(self) -> QuerySet[MriStudy]:
        return selectors.mri_study_list()

    def record(self, **data: Any) -> MriStudy:
        return services.record_mri_study(**data)
