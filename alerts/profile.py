"""The rule profile in force: CLINICAL_RULES.md thresholds, chosen and overridden by settings."""

from functools import cache

from django.conf import settings

from alerts.rules import RuleConfig, load_config


@cache
def active_config() -> RuleConfig:
    return load_config(settings.RULE_PROFILE, settings.RULE_OVERRIDES or None)


def reset_config_cache() -> None:
    """Forget the cached profile (tests that change RULE_PROFILE call this)."""
    active_config.cache_clear()
