"""Presentation helpers: how statuses and people are shown, the same on every page."""

from django import template
from django.utils.html import format_html

from workstreams.audit import display_name
from workstreams.models import Rag, action_url

register = template.Library()

# The tag colour of each BRAG state; the words always say the state too.
RAG_CLASSES = {
    Rag.RED: "grip-rag--red",
    Rag.AMBER: "grip-rag--amber",
    Rag.NOT_STARTED: "grip-rag--grey",
    Rag.GREEN: "grip-rag--green",
    Rag.AWAITING_EVIDENCE: "grip-rag--purple",
    Rag.BLUE: "grip-rag--blue",
    Rag.CLOSED: "grip-rag--grey",
}

# The status tags' colours as `assets/scss/grip.scss` compiles them (static/govuk/css/grip.css):
# tag class -> (text colour, background colour). Whatever draws a tag elsewhere (a chart's bar,
# a spreadsheet's cell) fills with the background and writes in the text colour, as the tag
# does; the stylesheet's build fails if a pair drops below 4.5:1.
TAG_COLOURS = {
    "grip-rag--blue": ("#0f385c", "#d2e2f1"),
    "grip-rag--green": ("#083d29", "#cfe4dc"),
    "grip-rag--amber": ("#7a3c1c", "#ffee80"),
    "grip-rag--red": ("#651b1b", "#f4d7d7"),
    "grip-rag--grey": ("#0b0c0c", "#cecece"),
    "grip-rag--purple": ("#2a1950", "#ddd6ec"),
}


def brag_words(rag: Rag, overdue: bool) -> str:
    """A BRAG in the words every count and filter uses; an overdue action reads "Off track:
    overdue" (overdue is why it is off track). Tags and exports say it so."""
    return f"{rag.label}: overdue" if overdue else rag.label


def rag_words(action) -> str:
    """The action's BRAG in words (``brag_words``)."""
    return brag_words(action.rag, action.is_overdue)


@register.simple_tag
def rag_tag(action):
    """The action's BRAG as a tag, in its words (``rag_words``)."""
    return _tag(action.rag, rag_words(action))


@register.simple_tag
def rag_label_tag(rag):
    """A BRAG state on its own (a count's heading), coloured as its actions' tags are."""
    return _tag(Rag(rag), Rag(rag).label)


def _tag(rag: Rag, label: str):
    return format_html('<strong class="govuk-tag grip-rag {}">{}</strong>', RAG_CLASSES[rag], label)


@register.filter
def action_page(reference: str) -> str:
    """The address of the action page of ``reference``, for rows that are not actions (a
    report's content, an import's rows): ``{% url %}`` resolved its pattern for each row."""
    return action_url("workstreams:action-detail", reference)


@register.filter
def person(user):
    """A user as people know them: their name, else their username."""
    return "Nobody named" if user is None else display_name(user)


@register.simple_tag(takes_context=True)
def sort_header(context, field, label):
    """A column header whose link sorts the list by ``field``; again, the other way."""
    query = context["request"].GET.copy()
    current = query.get("sort", "")
    query["sort"] = f"-{field}" if current == field else field
    query.pop("page", None)
    state = {field: "ascending", f"-{field}": "descending"}.get(current, "none")
    return format_html(
        '<th scope="col" class="govuk-table__header" role="columnheader" aria-sort="{}">'
        '<a class="govuk-link" href="?{}">{}</a></th>',
        state,
        query.urlencode(),
        label,
    )


@register.filter
def measure(value, indicator):
    """An indicator's value as people write it: no trailing zeros, with its unit."""
    number = format(value.normalize(), "f")
    if indicator.unit == "%":
        return f"{number}%"
    return number if indicator.unit == "number" else f"{number} {indicator.unit}"
