from typing import Any

from django import forms

from .models import Site


class SiteChoiceForm(forms.Form):
    """The switcher: one of the user's own sites."""

    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        label="Site",
        error_messages={"invalid_choice": "That is not one of your sites."},
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
