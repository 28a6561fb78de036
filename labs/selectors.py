"""The reads behind the lab, antibody and MRI endpoints."""

from django.db.models import QuerySet

from .models import AntibodyTest, LabResult, MriStudy


def lab_result_list() -> QuerySet[LabResult]:
    return LabResult.objects.all()


def antibody_test_list() -> QuerySet[AntibodyTest]:
    return AntibodyTest.objects.all()


def mri_study_list() -> QuerySet[MriStudy]:
    return MriStudy.objects.all()
