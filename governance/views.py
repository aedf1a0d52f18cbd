import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views import View
from django.views.generic import FormView, TemplateView

from workstreams import derived
from workstreams import selectors as delivery
from workstreams.history import history_entries
from workstreams.models import Plan, Rag, month_start
from workstreams.spreadsheets import XLSX_CONTENT_TYPE
from workstreams.views import LivePlanMixin, add_errors, file_response

from . import board_pack, dashboard, selectors, services
from .forms import (
    PROGRAMME_REGISTER,
    DashboardForm,
    DecisionCloseForm,
    DecisionForm,
    MeetingFilterForm,
    MeetingForm,
    ReportAnswersForm,
    ReportItemForm,
    ReportItemSettleForm,
    ReportItemToActionForm,
    ReportStartForm,
    ReportStepForm,
    RiskCloseForm,
    RiskFilterForm,
    RiskForm,
    last_month,
    month_choices,
)
from .models import Body, ProgressReport, ReportItem, Risk


class MyWorkView(TemplateView):
    """Home: what needs my update or my decision this period, and the plan at a glance."""

    template_name = "governance/my_work.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = delivery.live_plan()
        context.update(plan=plan, rags=Rag.choices)
        if plan is not None:
            work = selectors.my_work(self.request.user, plan)
            context.update(work=work, rows=work.plan_rows, total=work.plan_total)
        return context


@dataclass(frozen=True)
class DashboardAsked:
    """Which state of the plan a dashboard request asks for: the checked form, the months
    it offers, and the ``AsAt`` they make (the latest month with data where none is asked)."""

    form: DashboardForm
    months: list[datetime.date]
    as_at: delivery.AsAt

    @property
    def valid(self) -> bool:
        return not self.form.is_bound or self.form.is_valid()


class DashboardPlanMixin(LivePlanMixin):
    """The dashboard's pages: the live plan is read with what the dashboard needs of it
    before its figures (``dashboard.for_dashboard``), on today's date."""

    def get_plan(self):
        self.today = timezone.localdate()
        return dashboard.live_plan_or_404(self.today)


def dashboard_asked(plan: Plan, query, today: datetime.date) -> DashboardAsked:
    """The dashboard's ``period`` and ``as_of`` as ``query`` (request.GET) gives them: what
    the dashboard and the board pack both show. ``plan`` is read by ``DashboardPlanMixin``
    on ``today``."""
    months = dashboard.dashboard_months(plan, today)
    form = DashboardForm(query or None, months=months)
    asked = form.cleaned_data if form.is_bound and form.is_valid() else {}
    period, as_of = asked.get("period"), asked.get("as_of")
    if period is None:
        period = dashboard.latest_period_with_data(plan, today)
        if as_of:
            period = min(period, month_start(as_of))
    return DashboardAsked(form, months, delivery.AsAt(today=today, period=period, as_of=as_of))


class DashboardView(DashboardPlanMixin, TemplateView):
    """The programme board's monthly dashboard: a month of the live plan, judged at its end,
    or the plan as it stood on a past day (``AsAt``)."""

    template_name = "governance/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        asked = dashboard_asked(self.plan, self.request.GET, self.today)
        as_at = asked.as_at
        # The page as rendered is cached with its figures (derived.cache_key): the same
        # for every reader, keyed by the plan, the day and the whole query (a wrong month's
        # errors included). Where it is cached, the figures are never read.
        page_key = derived.cache_key(
            "dashboard-page", (self.plan.pk, as_at.today, self.request.GET.urlencode())
        )
        context.update(
            form=asked.form,
            months=asked.months,
            period=as_at.period,
            board=SimpleLazyObject(lambda: dashboard.dashboard(self.plan, as_at)),
            page_key=page_key,
            page_seconds=settings.GRIP_DERIVED_CACHE_SECONDS,
            page_cache="default" if page_key else "uncached",
            rags=list(Rag),
        )
        return context


class BoardPackView(DashboardPlanMixin, View):
    """GET only: the board pack, a workbook of the dashboard's month (``?period=YYYY-MM``,
    optionally ``&as_of=YYYY-MM-DD``), with the same figures as the dashboard for the same
    month and day. For every signed-in user, as the dashboard is. A month or day that does
    not check out is not replaced by another: the dashboard shows what is wrong with it."""

    def get(self, request):
        asked = dashboard_asked(self.plan, request.GET, self.today)
        if not asked.valid:
            messages.error(request, "Choose the month and day again, then download the pack.")
            return redirect(f"{reverse('governance:dashboard')}?{request.GET.urlencode()}")
        board = dashboard.dashboard(self.plan, asked.as_at)
        now = timezone.localtime()
        content = board_pack.board_pack(board, by=request.user, at=now)
        return file_response(content, XLSX_CONTENT_TYPE, board_pack.filename(board))


# --- Four-question reports -----------------------------------------------------------------
# Thin views: the selectors read, the services write and decide who may do what and when.
# Each workflow step is its own POST-only view; a refusal changes nothing and says why (403
# for who may not, the reason for a step the report's state does not allow, 409 for a save
# made stale by someone else's).


def _period(text: str) -> datetime.date:
    """A month written YYYY-MM, as its first day; ValueError when it is not one."""
    form = ReportStartForm({"period": text})
    if not form.is_valid():
        raise ValueError(text)
    return form.cleaned_data["period"]


class ReportListView(LivePlanMixin, TemplateView):
    """Per month, each workstream's report and the programme's, what waits for the reader,
    and a button to start the reports they may start."""

    template_name = "governance/report_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        periods = selectors.report_periods(self.plan)
        this_month = month_start(timezone.localdate())
        # The latest month with reports, else this month.
        period = periods[0].period if periods else this_month
        asked = self.request.GET.get("period", "")
        if asked:
            try:
                period = _period(asked)
            except ValueError:
                context["period_error"] = (
                    f"“{asked}” is not a month. Give it as year and month, for example "
                    f"{period:%Y-%m}."
                )
        # Every month with reports, newest first, with this month and the one shown.
        summaries = {p.period: p for p in periods}
        months = sorted({this_month, period, *summaries}, reverse=True)
        context.update(
            plan=self.plan,
            period=period,
            months=[(month, summaries.get(month)) for month in months],
            rows=selectors.report_rows(self.request.user, self.plan, period),
        )
        return context


class ReportStartView(LivePlanMixin, View):
    """POST only: start a workstream's (or the programme's) report for a month."""

    http_method_names = ["post"]

    def post(self, request):
        form = ReportStartForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose the month and the report to start.")
            return redirect("governance:report-list")
        period, code = form.cleaned_data["period"], form.cleaned_data["workstream"]
        workstream = get_object_or_404(self.plan.workstreams.all(), code=code) if code else None
        try:
            report = services.report_start(
                by=request.user, plan=self.plan, period=period, workstream=workstream
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('governance:report-list')}?period={period:%Y-%m}")
        messages.success(
            request,
            f"{report} started, filled in from the plan's data: read each answer and change "
            "what needs changing before submitting it.",
        )
        return redirect(report)


class ReportPageMixin:
    """The report page's context, shared by the page and the forms that show it again with
    their errors."""

    def report_page_context(self, report: ProgressReport, item_form=None) -> dict:
        user = self.request.user
        steps = selectors.report_steps(user, report)
        reviews = list(selectors.report_reviews(report))
        evidence = selectors.report_evidence(report)
        context = {
            "report": report,
            "content": evidence.content,
            "evidence": evidence,
            "frozen": report.is_frozen,
            "steps": steps,
            "workflow_steps": steps - {selectors.EDIT},
            "waiting": selectors.report_waiting_for(user, report),
            "reviews": reviews,
            "signed_off": selectors.report_sign_off_review(reviews),
            "rag_counts": evidence.rag_counts,
            "before": selectors.report_before(report),
            "actions_link": report.plan.status == Plan.Status.LIVE,
        }
        if not report.is_frozen:
            context["items"] = evidence.items
            context["may_track"] = report.workstream_id is not None and user.has_perm(
                "workstreams.add_action"
            )
            context["outcomes"] = ReportItem.Outcome.choices
        if selectors.EDIT in steps:
            context["item_form"] = item_form or ReportItemForm()
        if context["workflow_steps"]:
            context["meetings"] = list(selectors.report_meetings(report))
        return context


class ReportDetailView(ReportPageMixin, TemplateView):
    """One report: the four questions, what needs to happen, the evidence (as signed off, or
    live until then), the review trail, and the steps this user may take now."""

    template_name = "governance/report_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.report_page_context(selectors.report_for_page(kwargs["pk"])))
        return context


class ReportEditView(FormView):
    """The draft's answers, for those who may draft it. A save based on an older version is
    refused (409), keeping the words typed and showing what is saved now."""

    template_name = "governance/report_edit.html"
    form_class = ReportAnswersForm

    def dispatch(self, request, *args, **kwargs):
        self.report = selectors.report_for_page(kwargs["pk"])
        if not request.user.has_perm("governance.draft_report", self.report):
            raise PermissionDenied("You may not change this report.")
        if selectors.EDIT not in selectors.report_steps(request.user, self.report):
            messages.error(
                request,
                f"This report is {self.report.get_status_display().lower()}: its answers "
                "can no longer be changed.",
            )
            return redirect(self.report)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        report = self.report
        return {
            "working_well": report.working_well,
            "how_we_know": report.how_we_know,
            "worried_about": report.worried_about,
            "version": report.version,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["report"] = self.report
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.report_edit(
                report=self.report,
                by=self.request.user,
                based_on_version=data["version"],
                working_well=data["working_well"],
                how_we_know=data["how_we_know"],
                worried_about=data["worried_about"],
            )
        except services.ReportChangedSinceOpened as conflict:
            return self.conflict(form, conflict.report)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Answers saved.")
        return redirect(self.report)

    def conflict(self, form, saved: ProgressReport):
        """Keep this person's words, based now on the saved version, and show what is saved,
        so saving again is a deliberate choice."""
        data = form.data.copy()
        data["version"] = saved.version
        form = self.get_form_class()(data=data)
        form.is_valid()
        form.add_error(
            None,
            "Someone else changed this report after you opened it. Nothing of yours has been "
            "saved. Compare their answers below with yours, then save again if yours should "
            "still apply.",
        )
        theirs = [
            (form.fields[name].label, getattr(saved, name))
            for name in ("working_well", "how_we_know", "worried_about")
            if getattr(saved, name) != form.cleaned_data.get(name, "")
        ]
        return self.render_to_response(
            self.get_context_data(
                form=form,
                conflict=theirs,
                conflict_by=selectors.report_last_changed_by(saved),
            ),
            status=409,
        )


class ReportItemView(ReportPageMixin, View):
    """POST only: a change to the draft's "what needs to happen" lines, by who may draft it
    (the service checks the report is still a draft)."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        self.report = selectors.report_for_page(kwargs["pk"])
        if "item_id" in kwargs:
            self.item = get_object_or_404(ReportItem, pk=kwargs["item_id"], report=self.report)
        return super().dispatch(request, *args, **kwargs)

    def require_drafter(self):
        if not self.request.user.has_perm("governance.draft_report", self.report):
            raise PermissionDenied("You may not change this report.")

    def back(self):
        return redirect(f"{self.report.get_absolute_url()}#items")


class ReportItemAddView(ReportItemView):
    """A line that does not validate shows the report page again, with its errors."""

    def post(self, request, pk):
        self.require_drafter()
        form = ReportItemForm(request.POST)
        if form.is_valid():
            try:
                services.report_item_add(report=self.report, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                if not hasattr(error, "error_dict"):  # about the report (no longer a draft)
                    messages.error(request, " ".join(error.messages))
                    return self.back()
                add_errors(form, error)
            else:
                messages.success(request, "Line added to what needs to happen.")
                return self.back()
        context = self.report_page_context(self.report, item_form=form)
        return render(request, "governance/report_detail.html", context)


class ReportItemSettleView(ReportItemView):
    def post(self, request, pk, item_id):
        self.require_drafter()
        form = ReportItemSettleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose whether it happened.")
            return self.back()
        try:
            item = services.report_item_settle(
                item=self.item, by=request.user, outcome=form.cleaned_data["outcome"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"“{item.description[:80]}”: {item.get_outcome_display()}.")
        return self.back()


class ReportItemRemoveView(ReportItemView):
    def post(self, request, pk, item_id):
        self.require_drafter()
        try:
            services.report_item_remove(item=self.item, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"“{self.item.description[:80]}” removed.")
        return self.back()


class ReportItemToActionView(ReportItemView):
    """POST only: the programme office makes a line a tracked action of the workstream."""

    def post(self, request, pk, item_id):
        if not request.user.has_perm("workstreams.add_action"):
            raise PermissionDenied("Only the programme office adds actions to the plan.")
        form = ReportItemToActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the new action's reference, for example MP-4.1.")
            return self.back()
        try:
            action = services.report_item_to_action(
                item=self.item, by=request.user, reference=form.cleaned_data["reference"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Now tracked as action {action.reference}.")
        return self.back()


class ReportStepView(View):
    """POST only: one step of the workflow, through its service, with the reviewer's comment
    and, if given, the meeting it was taken at."""

    http_method_names = ["post"]
    step = ""
    takes_meeting = True

    def take(self, **kwargs):
        raise NotImplementedError

    def done(self, report: ProgressReport) -> str:
        raise NotImplementedError

    def post(self, request, pk):
        report = selectors.report_for_page(pk)
        form = ReportStepForm(request.POST, report=report)
        if not form.is_valid():
            messages.error(
                request,
                "Choose a meeting from the list, and keep the comment to "
                f"{form.fields['comment'].max_length:,} characters.",
            )
            return redirect(report)
        extra = {
            "comment": form.cleaned_data["comment"],
            "based_on_version": form.cleaned_data["version"],
        }
        if self.takes_meeting:
            extra["meeting"] = form.cleaned_data["meeting"]
        try:
            self.take(report=report, by=request.user, **extra)
        except services.ReportChangedSinceOpened:
            messages.error(
                request,
                "The report changed after you opened it, so nothing was done. Read it again "
                "as it is now, then take the step if it still stands.",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            report.refresh_from_db()
            messages.success(request, self.done(report))
        return redirect(report)


class ReportSubmitView(ReportStepView):
    def take(self, **kwargs):
        services.report_submit(**kwargs)

    def done(self, report):
        if report.workstream_id:
            return "Submitted: the report now waits for the task group chair's endorsement."
        return "Submitted: the report now waits for the programme board chair's sign-off."


class ReportEndorseView(ReportStepView):
    def take(self, **kwargs):
        services.report_endorse(**kwargs)

    def done(self, report):
        return "Endorsed: the report now waits for the programme board chair's sign-off."


class ReportSignOffView(ReportStepView):
    def take(self, **kwargs):
        services.report_sign_off(**kwargs)

    def done(self, report):
        return f"Signed off: the report is kept as it stands. Checksum: {report.checksum}."


class ReportReturnView(ReportStepView):
    def take(self, **kwargs):
        services.report_return(**kwargs)

    def done(self, report):
        return "Returned to its author with your comment."


class ReportReopenView(ReportStepView):
    takes_meeting = False

    def take(self, **kwargs):
        services.report_reopen(**kwargs)

    def done(self, report):
        return (
            "Reopened: the report is a draft again. What was signed off stays in its history "
            "and its review trail."
        )


class ReportCompareView(TemplateView):
    """Two months of a workstream's report side by side, what changed marked: by default
    the same workstream's report for the month before."""

    template_name = "governance/report_compare.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = selectors.report_for_page(kwargs["pk"])
        other_id = self.request.GET.get("with", "")
        if other_id:
            if not other_id.isdigit():
                raise Http404("No such report.")
            other = selectors.report_for_page(int(other_id))
        else:
            other = selectors.report_before(report)
        context.update(
            report=report,
            comparison=selectors.report_comparison(report, other) if other else None,
        )
        return context


# --- Meetings ------------------------------------------------------------------------------

MEETINGS_PER_PAGE = 25


class MeetingListView(TemplateView):
    """Every body's meetings, newest first; filter by body."""

    template_name = "governance/meeting_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = MeetingFilterForm(self.request.GET or None)
        body = form.cleaned_data.get("body") if form.is_valid() else None
        page = Paginator(selectors.meetings_for_list(body), MEETINGS_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        context.update(
            form=form,
            body=body,
            page_obj=page,
            meetings=page.object_list,
            can_record=bool(selectors.bodies_recorded_by(self.request.user)),
        )
        return context


class MeetingFormMixin:
    """The meeting form's months: those of the live plan's year."""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["months"] = month_choices(delivery.live_plan(), timezone.localdate())
        return kwargs

    def save(self, form, service, **arguments):
        data = form.cleaned_data
        try:
            return service(
                by=self.request.user,
                date=data["date"],
                period=data["period"],
                attendees=list(data["attendees"]),
                minutes=data["minutes"],
                **arguments,
            )
        except ValidationError as error:
            add_errors(form, error)
            return None


class MeetingCreateView(MeetingFormMixin, FormView):
    template_name = "governance/meeting_form.html"
    form_class = MeetingForm

    def dispatch(self, request, *args, **kwargs):
        self.bodies = selectors.bodies_recorded_by(request.user)
        if not self.bodies:
            raise PermissionDenied("Only a body's chair or secretary records its meetings.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["bodies"] = Body.objects.filter(pk__in=[body.pk for body in self.bodies])
        return kwargs

    def get_initial(self):
        chosen = self.request.GET.get("body", "")
        return {
            "period": last_month(timezone.localdate()),
            "body": next((b.pk for b in self.bodies if str(b.pk) == chosen), None),
        }

    def form_valid(self, form):
        meeting = self.save(form, services.meeting_record, body=form.cleaned_data["body"])
        if meeting is None:
            return self.form_invalid(form)
        messages.success(self.request, f"Meeting of the {meeting.body} recorded.")
        return redirect(meeting.get_absolute_url())


class MeetingDetailView(TemplateView):
    """A meeting: who came, the minutes, its agenda built from the data, the decisions made
    at it and carried to it, and the reviews of reports made at it."""

    template_name = "governance/meeting_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        meeting = selectors.meeting_for_page(kwargs["pk"])
        context.update(
            meeting=meeting,
            agenda=selectors.meeting_agenda(meeting),
            can_record=self.request.user.has_perm("governance.record_meeting", meeting),
        )
        return context


class MeetingChangeMixin:
    """A page that changes a meeting's record: its body's chair or secretary, or the
    programme office."""

    def dispatch(self, request, *args, **kwargs):
        self.meeting = selectors.meeting_for_page(kwargs["pk"])
        if not request.user.has_perm("governance.record_meeting", self.meeting):
            raise PermissionDenied("Only the body's chair or secretary records its meetings.")
        self.prepare(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def prepare(self, **kwargs):
        """What else the page needs, once the user may change the meeting."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(meeting=self.meeting, **kwargs)


class MeetingEditView(MeetingChangeMixin, MeetingFormMixin, FormView):
    template_name = "governance/meeting_form.html"
    form_class = MeetingForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "submit": "Save the changes"}

    def get_initial(self):
        meeting = self.meeting
        return {
            "date": meeting.date,
            "period": f"{meeting.period:%Y-%m}",
            "attendees": list(meeting.attendees.all()),
            "minutes": meeting.minutes,
        }

    def form_valid(self, form):
        if self.save(form, services.meeting_edit, meeting=self.meeting) is None:
            return self.form_invalid(form)
        messages.success(self.request, "Meeting record saved.")
        return redirect(self.meeting.get_absolute_url())


class DecisionAddView(MeetingChangeMixin, FormView):
    template_name = "governance/meeting_decision_form.html"
    form_class = DecisionForm

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.decision_add(
                by=self.request.user,
                meeting=self.meeting,
                text=data["text"],
                owner=data["owner"],
                due_date=data["due_date"],
            )
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Decision added.")
        return redirect(self.meeting.get_absolute_url() + "#decisions")


class DecisionCloseView(MeetingChangeMixin, FormView):
    """Close a decision of an earlier meeting at this one."""

    template_name = "governance/meeting_decision_form.html"
    form_class = DecisionCloseForm

    def prepare(self, **kwargs):
        self.decision = selectors.decision_for_closing(self.meeting, kwargs["decision_id"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(decision=self.decision, **kwargs)

    def form_valid(self, form):
        try:
            services.decision_close(
                by=self.request.user,
                decision=self.decision,
                at_meeting=self.meeting,
                note=form.cleaned_data["closing_note"],
            )
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Decision closed at this meeting.")
        return redirect(self.meeting.get_absolute_url() + "#carried")


# --- Risks ---------------------------------------------------------------------------------


class RiskListView(LivePlanMixin, TemplateView):
    """The live plan's risk registers, the programme's and each workstream's, by score."""

    template_name = "governance/risk_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workstreams = list(self.plan.workstreams.order_by("code"))
        form = RiskFilterForm(self.request.GET or None, workstreams=workstreams)
        filters = form.cleaned_data if form.is_valid() else {}
        registers = selectors.risk_register(
            self.plan,
            workstream=filters.get("workstream", ""),
            escalated=filters.get("escalated", False),
            status=filters.get("status") or "open",
        )
        context.update(
            plan=self.plan,
            form=form,
            registers=registers,
            risk_count=sum(len(register.risks) for register in registers),
            can_add=bool(selectors.registers_kept_by(self.request.user, self.plan)),
        )
        return context


class RiskCreateView(LivePlanMixin, FormView):
    template_name = "governance/risk_form.html"
    form_class = RiskForm

    def dispatch(self, request, *args, **kwargs):
        self.registers = selectors.registers_kept_by(request.user, self.plan)
        if not self.registers:
            raise PermissionDenied("You do not keep a risk register.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "registers": self.registers, "submit": "Add the risk"}

    def get_initial(self):
        chosen = self.request.GET.get("register", "")
        return {"register": chosen if chosen in dict(self.registers) else ""}

    def form_valid(self, form):
        data = form.cleaned_data
        register = data["register"]
        workstream = (
            None
            if register == PROGRAMME_REGISTER
            else get_object_or_404(self.plan.workstreams, code=register)
        )
        try:
            risk = services.risk_add(
                by=self.request.user,
                plan=self.plan,
                workstream=workstream,
                **{name: data[name] for name in services.RISK_FIELDS},
            )
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Risk “{risk.title}” added.")
        return redirect("governance:risk-detail", pk=risk.pk)


class RiskDetailView(TemplateView):
    """A risk, and every change to it: who, when, each field before and after, and why."""

    template_name = "governance/risk_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        risk = selectors.risk_for_page(kwargs["pk"])
        context.update(
            risk=risk,
            entries=history_entries(risk.history.all()),
            can_keep=risk.status == Risk.Status.OPEN
            and self.request.user.has_perm("governance.keep_risk", risk),
        )
        return context


class RiskChangeMixin:
    """A page that changes a risk: who keeps its register, while it is open."""

    def dispatch(self, request, *args, **kwargs):
        self.risk = selectors.risk_for_page(kwargs["pk"])
        if not request.user.has_perm("governance.keep_risk", self.risk):
            raise PermissionDenied("You do not keep this risk's register.")
        if self.risk.status != Risk.Status.OPEN:
            messages.error(request, "This risk is closed, so it cannot be changed.")
            return redirect("governance:risk-detail", pk=self.risk.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(risk=self.risk, **kwargs)

    def conflict(self, form, conflict):
        """Someone saved the risk after this form was opened: show what they changed, keep
        this person's entries, now based on the risk as it is, to save again on purpose."""
        data = form.data.copy()
        data["based_on"] = selectors.risk_state(conflict.risk)
        form = self.get_form_class()(**{**self.get_form_kwargs(), "data": data})
        form.is_valid()
        form.add_error(
            None,
            "Someone else changed this risk after you opened it. Nothing of yours has been "
            "saved. Check their changes below, then save again if yours should still apply.",
        )
        context = self.get_context_data(
            form=form, conflict=conflict.changes, conflict_by=conflict.changed_by
        )
        return self.render_to_response(context, status=409)


class RiskChangeView(RiskChangeMixin, FormView):
    template_name = "governance/risk_form.html"
    form_class = RiskForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "submit": "Save the changes"}

    def get_initial(self):
        risk = self.risk
        return {
            **{name: getattr(risk, name) for name in services.RISK_FIELDS},
            "based_on": selectors.risk_state(risk),
        }

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.risk_change(
                by=self.request.user,
                risk=self.risk,
                based_on=data["based_on"],
                note=data["note"],
                **{name: data[name] for name in services.RISK_FIELDS},
            )
        except services.RiskChangedSinceOpened as conflict:
            return self.conflict(form, conflict)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Risk saved.")
        return redirect("governance:risk-detail", pk=self.risk.pk)


class RiskCloseView(RiskChangeMixin, FormView):
    template_name = "governance/risk_close.html"
    form_class = RiskCloseForm

    def get_initial(self):
        return {"based_on": selectors.risk_state(self.risk)}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.risk_close(
                by=self.request.user, risk=self.risk, note=data["note"], based_on=data["based_on"]
            )
        except services.RiskChangedSinceOpened as conflict:
            return self.conflict(form, conflict)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Risk closed.")
        return redirect("governance:risk-detail", pk=self.risk.pk)
