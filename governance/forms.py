"""Forms of the governance pages. They check what was typed; who may do what, and when, is
the services' to decide."""

import datetime

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size, Submit
from django import forms
from django.contrib.auth import get_user_model

from workstreams.audit import display_name
from workstreams.forms import DueDateField

from .models import Meeting, ReportItem

# --- Four-question reports -----------------------------------------------------------------

ANSWER_LIMIT = 10_000
COMMENT_LIMIT = 2_000


def _answer(label, hint):
    return forms.CharField(
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

    def __init__(self, **kwargs):
        people = get_user_model().objects.filter(is_active=True)
        super().__init__(queryset=people.order_by("first_name", "last_name", "username"), **kwargs)

    def label_from_instance(self, obj):
        return display_name(obj)


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

    def __init__(self, *args, report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = Meeting.objects.filter(period=report.period)


class ReportStartForm(forms.Form):
    """Which report to start: a workstream's (its code) or, with none, the programme's."""

    workstream = forms.CharField(required=False, max_length=10)
    period = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$")

    def clean_period(self):
        return datetime.date.fromisoformat(f"{self.cleaned_data['period']}-01")


# --- Meetings and decisions ----------------------------------------------------------------
