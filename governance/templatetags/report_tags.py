"""How a report's content (``selectors.report_content``: plain data, as a signed-off report's
snapshot keeps it) is shown: the same tags and dates as the live pages."""

import datetime

from django import template

from workstreams.models import Rag
from workstreams.templatetags.grip import _tag

register = template.Library()


@register.filter
def isodate(value):
    """A date the snapshot keeps as text (2018-11-30), as a date to format."""
    return datetime.date.fromisoformat(value) if value else None


@register.simple_tag
def content_rag_tag(row):
    """An action's or indicator's BRAG as the report's content records it, in the words it
    recorded (e.g. "Off track: overdue"); an indicator without a value this period reads so,
    in grey."""
    code = row.get("rag") or Rag.NOT_STARTED
    label = row.get("status") or row.get("rag_label") or Rag(code).label
    if not row.get("rag"):
        return _tag(Rag.CLOSED, label)  # grey: nothing to judge
    return _tag(Rag(code), label)
