from django.views.generic import TemplateView

from workstreams import selectors as delivery
from workstreams.models import ActionStatus

from . import selectors


class MyWorkView(TemplateView):
    """Home: what needs my update or my decision this period, and the plan at a glance."""

    template_name = "governance/my_work.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = delivery.live_plan()
        context.update(plan=plan, statuses=ActionStatus.choices)
        if plan is not None:
            context["work"] = selectors.my_work(self.request.user, plan)
            context["rows"] = delivery.status_table(delivery.workstreams_with_status_counts(plan))
        return context
