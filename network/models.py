"""Sites (infusion centres) and who works where."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


def validate_time_zone(value: str) -> None:
    """An IANA zone name, as Europe/London."""
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as unknown:
            raise ValidationError(
                f"{value!r} is not a time zone (e.g. Europe/London)."
            ) from unknown


class Site(models.Model):
    """An infusion centre: its patients are seen only by the people who work there."""

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Letters, digits, - and _ only.")],
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sites",
        blank=True,
        help_text="Who works here. With one site in the database, everyone works there.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=~models.Q(code=""), name="site_code_set")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
