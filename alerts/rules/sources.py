"""Short citations for the `source` of a finding (CLINICAL_RULES.md names each rule's source)."""

PREPARATION = "Source document: Drug Preparation and Storage"
INFUSION_RISKS = "Source document: Prevention and Control of Infusion-Related Risks"
IMMUNOSUPPRESSION = "Source document: Immunosuppression and Infection Risks"
LABORATORY = "Source document: Laboratory Indicators"
IMMUNOGENICITY = "Source document: Immunogenicity Monitoring"
IMAGING = "Source document: Imaging and Clinical Symptom Tracking"
POPULATIONS = "Source document: High-Risk Populations"
LABEL = "US label / EU SmPC"
BOXED_WARNING = "US label boxed warning / EU SmPC"
TOUCH = "TOUCH program"
PML_TABLE = (
    "US label boxed warning / EU SmPC: estimated PML incidence per 1000 anti-JCV antibody "
    "positive patients, by natalizumab exposure, prior immunosuppressant use and anti-JCV index"
)


def both(first: str, second: str) -> str:
    """Two citations for a rule whose profile adds to the document."""
    return f"{first}; {second}"


def by_profile(profile: str, document: str, label: str) -> str:
    """The citation of a rule whose label profile differs from the document."""
    return label if profile == "label" else document
