from django.views.generic import TemplateView

from workstreams import selectors as delivery
from workstreams.models import Rag

from . import selectors


class MyWorkView(TemplateView):
    """Home: what needs my update or my decision this period, and the plan at a glance."""

    template_name = "governance/my_work.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = delivery.live_plan()
        context.update(plan=plan, rags=Rag.choices)
        if plan is not None:
            context["work"] = selectors.my_work(self.request.user, plan)
            context["rows"], context["total"] = delivery.rag_table(plan)
        return context
