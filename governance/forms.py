"""Forms of the governance pages. They check what was typed; who may do what, and when, is
the services' to decide."""

import datetime

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size, Submit
from django import forms
from django.contrib.auth import get_user_model

from workstreams.audit import display_name
from workstreams.forms import AsAtForm, DueDateField, PeopleChoices, PersonSelect

from . import selectors
from .models import Body, Meeting, ReportItem
from .templatetags.risk_tags import IMPACT, LIKELIHOOD

# --- Four-question reports -----------------------------------------------------------------

ANSWER_LIMIT = 10_000
COMMENT_LIMIT = 2_000


class AnswerField(forms.CharField):
    """An answer typed in a text area, its line ends "\n" as the pre-filled draft writes them
    (browsers send "\r\n"), so two versions compare line by line."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value


def _answer(label, hint):
    return AnswerField(
        label=label,
        help_text=hint,
        required=False,
        max_length=ANSWER_LIMIT,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"max_length": f"An answer must be {ANSWER_LIMIT:,} characters or fewer"},
    )


class ReportAnswersForm(forms.Form):
    """The draft's answers to the first three questions. ``version`` is the report's version
    when the form was opened: saving over someone else's change is refused, not lost."""

    working_well = _answer("What's working well?", "Key achievements or improvements.")
    how_we_know = _answer("How do we know?", "Evidence of impact.")
    worried_about = _answer("What are we worried about?", "Risks, issues and underperformance.")
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *(
                Field.textarea(name, label_size=Size.MEDIUM, max_characters=ANSWER_LIMIT)
                for name in ("working_well", "how_we_know", "worried_about")
            ),
            "version",
            Submit("save", "Save the answers"),
        )


class PersonChoiceField(forms.ModelChoiceField):
    """People who can sign in, by name."""

    widget = PersonSelect
    iterator = PeopleChoices

    def __init__(self, **kwargs):
        people = get_user_model().objects.filter(is_active=True)
        super().__init__(queryset=people.order_by("first_name", "last_name", "username"), **kwargs)


class ReportItemForm(forms.Form):
    """A line of "What needs to happen, and by when?"."""

    description = forms.CharField(
        label="What needs to happen",
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Say what needs to happen",
            "max_length": f"What needs to happen must be {COMMENT_LIMIT:,} characters or fewer",
        },
    )
    owner = PersonChoiceField(
        label="Who owns it",
        empty_label="Choose a person",
        error_messages={"required": "Choose who owns it", "invalid_choice": "Choose who owns it"},
    )
    due_date = DueDateField(
        label="By when",
        help_text="For example, 14 12 2018.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "item")
        super().__init__(*args, **kwargs)
        self.fields["due_date"].error_messages["required"] = "Enter the date it should happen by"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field.textarea("description"),
            Field("owner"),
            Field("due_date"),
            Submit("add", "Add the line", css_class="govuk-button--secondary"),
        )


class ReportItemSettleForm(forms.Form):
    outcome = forms.ChoiceField(choices=ReportItem.Outcome.choices)


class ReportItemToActionForm(forms.Form):
    """The reference of the action a line becomes (the programme office adds actions)."""

    reference = forms.CharField(max_length=30, strip=True)


class ReportStepForm(forms.Form):
    """A step of the workflow: the reviewer's comment (needed to return or reopen: the
    services say so) and, optionally, the meeting it was taken at."""

    comment = forms.CharField(required=False, max_length=COMMENT_LIMIT)
    meeting = forms.ModelChoiceField(queryset=Meeting.objects.none(), required=False)
    # The version the reviewer read: a step on a report changed since is refused.
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = selectors.report_meetings(report)


class ReportStartForm(forms.Form):
    """Which report to start: a workstream's (its code) or, with none, the programme's."""

    workstream = forms.CharField(required=False, max_length=10)
    period = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$")

    def clean_period(self):
        return datetime.date.fromisoformat(f"{self.cleaned_data['period']}-01")


# --- Meetings and decisions ----------------------------------------------------------------

MINUTES_LIMIT = 20_000


def month_choices(plan, today: datetime.date) -> list[tuple[str, str]]:
    """The months a meeting may review: those of the plan's year (the last twelve without a
    plan), as "YYYY-MM"."""
    if plan is not None:
        first, last = plan.period_start.replace(day=1), plan.period_end.replace(day=1)
    else:
        last = today.replace(day=1)
        first = last.replace(year=last.year - 1)
    months, month = [], first
    while month <= last:
        months.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def last_month(today: datetime.date) -> str:
    return f"{today.replace(day=1) - datetime.timedelta(days=1):%Y-%m}"


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    """People who can sign in, by name, as checkboxes."""

    def __init__(self, **kwargs):
        people = get_user_model().objects.filter(is_active=True)
        super().__init__(
            queryset=people.order_by("first_name", "last_name", "username"),
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )

    def label_from_instance(self, obj):
        return display_name(obj)


class MeetingForm(forms.Form):
    """A meeting's record. ``bodies``: those the user may record (a new meeting only)."""

    body = forms.ModelChoiceField(
        label="Which body met",
        queryset=None,
        empty_label="Choose a board or group",
        error_messages={"required": "Choose which body met", "invalid_choice": "Choose a body"},
    )
    date = DueDateField(label="Date of the meeting", help_text="For example, 15 1 2019.")
    period = forms.ChoiceField(
        label="Month it reviewed",
        help_text="The month whose reports and exceptions were on the agenda.",
        error_messages={
            "required": "Choose the month the meeting reviewed",
            "invalid_choice": "Choose a month from the list",
        },
    )
    attendees = PeopleChoiceField(label="Who attended", required=False)
    minutes = forms.CharField(
        label="Minutes",
        help_text="What was discussed. Decisions are added one by one after saving.",
        required=False,
        max_length=MINUTES_LIMIT,
        widget=forms.Textarea(attrs={"rows": 10}),
        error_messages={"max_length": f"The minutes must be {MINUTES_LIMIT:,} characters or fewer"},
    )

    def __init__(self, *args, bodies=None, months, submit="Save the meeting", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", "Choose a month"), *months]
        self.fields["date"].error_messages["required"] = "Enter the date of the meeting"
        if bodies is None:
            del self.fields["body"]
        else:
            self.fields["body"].queryset = bodies
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *(["body"] if bodies is not None else []),
            Field("date"),
            Field("period"),
            Field.checkboxes("attendees", legend_size=Size.SMALL, small=True),
            Field.textarea("minutes", max_characters=MINUTES_LIMIT),
            Submit("save", submit),
        )

    def clean_period(self):
        return datetime.date.fromisoformat(f"{self.cleaned_data['period']}-01")


class DecisionForm(forms.Form):
    """A decision or action agreed at a meeting."""

    text = forms.CharField(
        label="What was decided",
        # crispy-forms-gds's character count needs a hint to attach to.
        help_text="One decision or action; who owns it and by when below.",
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say what was decided",
            "max_length": f"The decision must be {COMMENT_LIMIT:,} characters or fewer",
        },
    )
    owner = PersonChoiceField(
        label="Who owns it (optional)",
        required=False,
        empty_label="Nobody named",
        error_messages={"invalid_choice": "Choose a person from the list"},
    )
    due_date = DueDateField(
        label="By when (optional)", help_text="For example, 28 2 2019.", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field.textarea("text", max_characters=COMMENT_LIMIT),
            Field("owner"),
            Field("due_date"),
            Submit("save", "Add the decision"),
        )


class DecisionCloseForm(forms.Form):
    closing_note = forms.CharField(
        label="What came of it",
        help_text="Recorded with the decision, as closed at this meeting.",
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say what came of the decision",
            "max_length": f"The note must be {COMMENT_LIMIT:,} characters or fewer",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field.textarea("closing_note", max_characters=COMMENT_LIMIT),
            Submit("save", "Close the decision"),
        )


# --- Risks ---------------------------------------------------------------------------------

RISK_TEXT_LIMIT = 5_000
PROGRAMME_REGISTER = "programme"


def _scale(name, words, label, hint):
    return forms.TypedChoiceField(
        label=label,
        help_text=hint,
        coerce=int,
        choices=[(n, f"{n}: {word}") for n, word in words.items()],
        widget=forms.RadioSelect,
        error_messages={
            "required": f"Choose the {name}",
            "invalid_choice": f"Choose the {name} from 1 to 5",
        },
    )


class RiskForm(forms.Form):
    """A risk in a register. ``registers``: the registers the user keeps, as (value, name),
    for a new risk; ``based_on``: the risk's state when the form was opened (a change)."""

    register = forms.ChoiceField(
        label="Register",
        help_text="The workstream whose risk it is, or the programme as a whole.",
        error_messages={
            "required": "Choose the register",
            "invalid_choice": "Choose a register you keep",
        },
    )
    title = forms.CharField(
        label="Risk",
        help_text="In a line: what might happen.",
        max_length=200,
        error_messages={
            "required": "Say what the risk is",
            "max_length": "The risk must be 200 characters or fewer",
        },
    )
    description = forms.CharField(
        label="Description (optional)",
        help_text="Its cause and what would follow.",
        required=False,
        max_length=RISK_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": f"The description must be {RISK_TEXT_LIMIT:,} characters or fewer"
        },
    )
    owner = PersonChoiceField(
        label="Risk owner",
        empty_label="Choose a person",
        error_messages={
            "required": "Choose who owns the risk",
            "invalid_choice": "Choose who owns the risk",
        },
    )
    likelihood = _scale(
        "likelihood", LIKELIHOOD, "Likelihood", "How likely it is to happen, 1 to 5."
    )
    impact = _scale("impact", IMPACT, "Impact", "How much harm it would do, 1 to 5.")
    mitigation = forms.CharField(
        label="Mitigation",
        help_text="What is being done to make it less likely or less harmful.",
        required=False,
        max_length=RISK_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": f"The mitigation must be {RISK_TEXT_LIMIT:,} characters or fewer"
        },
    )
    escalated = forms.BooleanField(
        label="Escalated to the programme board",
        help_text="The board sees escalated risks first.",
        required=False,
    )
    note = forms.CharField(
        label="Why it changed (optional)",
        help_text="Kept in the risk's history.",
        required=False,
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": f"The note must be {COMMENT_LIMIT:,} characters or fewer"},
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, registers=None, submit="Save the risk", **kwargs):
        super().__init__(*args, **kwargs)
        if registers is None:
            del self.fields["register"]
        else:
            self.fields["register"].choices = [("", "Choose a register"), *registers]
            del self.fields["note"], self.fields["based_on"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *(["register"] if registers is not None else []),
            Field.text("title"),
            Field.textarea("description", max_characters=RISK_TEXT_LIMIT),
            Field("owner"),
            Field.radios("likelihood", legend_size=Size.SMALL, small=True),
            Field.radios("impact", legend_size=Size.SMALL, small=True),
            Field.textarea("mitigation", max_characters=RISK_TEXT_LIMIT),
            Field.checkbox("escalated"),
            *([] if registers is not None else [Field.textarea("note"), "based_on"]),
            Submit("save", submit),
        )


class RiskCloseForm(forms.Form):
    note = forms.CharField(
        label="Why the risk is closed",
        help_text="Kept in the risk's history.",
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say why the risk is closed",
            "max_length": f"The reason must be {COMMENT_LIMIT:,} characters or fewer",
        },
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field.textarea("note", max_characters=COMMENT_LIMIT),
            "based_on",
            Submit("save", "Close the risk", css_class="govuk-button--warning"),
        )


class RiskFilterForm(forms.Form):
    """The register's filters, in the address."""

    workstream = forms.ChoiceField(label="Register", required=False)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("open", "Open"), ("closed", "Closed"), ("all", "Open and closed")],
    )
    escalated = forms.BooleanField(label="Escalated to the board only", required=False)

    def __init__(self, *args, workstreams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workstream"].choices = [
            ("", "All registers"),
            (PROGRAMME_REGISTER, "Programme"),
            *((w.code, f"{w.code}: {w.name}") for w in workstreams),
        ]


class MeetingFilterForm(forms.Form):
    body = forms.ModelChoiceField(
        label="Body",
        queryset=Body.objects.order_by("name"),
        required=False,
        empty_label="All bodies",
        error_messages={"invalid_choice": "Choose a body from the list"},
    )


class DashboardForm(AsAtForm):
    """The dashboard's month and, optionally, the past day to see the plan as it stood on."""

    period = forms.DateField(
        label="Month",
        required=False,
        input_formats=["%Y-%m"],
        error_messages={"invalid": "Choose a month from the list."},
    )
    as_of = forms.DateField(
        label="As the plan stood on (optional)",
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="For example, the day of the last board meeting",
        error_messages={"invalid": "Enter a real date, for example 12/12/2018."},
    )

    def __init__(self, *args, months: list[datetime.date], **kwargs):
        super().__init__(*args, **kwargs)
        self.months = months

    def clean_period(self):
        period = self.cleaned_data["period"]
        if period and period.replace(day=1) not in self.months:
            first, last = self.months[-1], self.months[0]
            raise forms.ValidationError(
                f"Choose a month of the plan, from {first:%B %Y} to {last:%B %Y}."
            )
        return period
