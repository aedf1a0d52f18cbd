"""How risks are shown: likelihood and impact in words beside their numbers, the score, and
whether the risk is escalated, always in words (colour never carries it alone)."""

from django import template
from django.utils.html import format_html

register = template.Library()

# The council's five-point scales (the risk model stores the number, 1 to 5).
LIKELIHOOD = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
IMPACT = {1: "Minor", 2: "Moderate", 3: "Significant", 4: "Major", 5: "Severe"}


@register.filter
def likelihood(value):
    """A likelihood as the register writes it: "4 (likely)"."""
    return f"{value} ({LIKELIHOOD.get(value, '?').lower()})"


@register.filter
def impact(value):
    return f"{value} ({IMPACT.get(value, '?').lower()})"


@register.simple_tag
def escalated_tag(risk):
    """ "Escalated" as a tag when the risk is escalated to the board, else the words "Not
    escalated": the page says it either way."""
    if risk.escalated:
        return _tag("govuk-tag--red", "Escalated")
    return "Not escalated"


@register.simple_tag
def risk_status_tag(risk):
    if risk.status == "closed":
        return _tag("govuk-tag--grey", "Closed")
    return _tag("govuk-tag--blue", "Open")


def _tag(modifier: str, words: str):
    return format_html('<strong class="govuk-tag {}">{}</strong>', modifier, words)
