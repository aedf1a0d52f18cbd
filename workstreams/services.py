"""Writes to the plan and its delivery. Each public function is one transaction."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models, transaction

from .models import (
    Action,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
)


def save_if_changed(model: type[models.Model], *, lookup: dict, values: dict) -> models.Model:
    """Create the row found by ``lookup``, or bring it to ``values``; save only on a change.

    Saving an unchanged row would still write a history row, so loading the same data twice
    must touch nothing. The row is validated (``full_clean``) before it is written.
    """
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
    elif all(getattr(instance, field) == value for field, value in values.items()):
        return instance
    else:
        for field, value in values.items():
            setattr(instance, field, value)
    instance.full_clean()
    instance.save()
    return instance


def _date(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def _period(text: str) -> datetime.date:
    """A period written "YYYY-MM", as the first day of that month."""
    return datetime.date.fromisoformat(f"{text}-01")


@transaction.atomic
def plan_load(*, data: dict) -> Plan:
    """Load a plan from its data (the shape of ``fixtures/croydon-2018-19.json``).

    Rows are matched by natural key (plan title, priority number, workstream code, finding
    and action reference, indicator code, service area name), so loading again changes
    nothing and loading an edited file changes only what was edited.
    """
    User = get_user_model()
    source = data["plan"]
    plan = save_if_changed(
        Plan,
        lookup={"title": source["title"]},
        values={
            "council": source["council"],
            "description": source.get("description", ""),
            "period_start": _date(source["period_start"]),
            "period_end": _date(source["period_end"]),
            "status": source.get("status", Plan.Status.DRAFT),
        },
    )
    priorities = {
        item["number"]: save_if_changed(
            Priority,
            lookup={"plan": plan, "number": item["number"]},
            values={"title": item["title"], "description": item.get("description", "")},
        )
        for item in data.get("priorities", [])
    }
    workstreams = {
        item["code"]: save_if_changed(
            Workstream,
            lookup={"plan": plan, "code": item["code"]},
            values={
                "name": item["name"],
                "scope": item.get("scope", ""),
                "senior_responsible_officer": item.get("senior_responsible_officer", ""),
            },
        )
        for item in data.get("workstreams", [])
    }
    findings = {
        item["reference"]: save_if_changed(
            Finding,
            lookup={"reference": item["reference"]},
            values={
                "source": item["source"],
                "date": _date(item["date"]),
                "theme": item.get("theme", ""),
                "text": item["text"],
            },
        )
        for item in data.get("findings", [])
    }
    leads = {user.username: user for user in User.objects.all()}
    for item in data.get("actions", []):
        lead = item.get("lead_officer")
        if lead and lead not in leads:
            raise ValueError(f"Action {item['reference']}: there is no user '{lead}'.")
        action = save_if_changed(
            Action,
            lookup={"plan": plan, "reference": item["reference"]},
            values={
                "workstream": workstreams[item["workstream"]],
                "priority": priorities.get(item.get("priority")),
                "title": item["title"],
                "description": item.get("description", ""),
                "lead_officer": leads.get(lead),
                "due_date": _date(item["due_date"]),
                "revised_due_date": _date(item.get("revised_due_date")),
                "revised_due_reason": item.get("revised_due_reason", ""),
                "status": item.get("status", "not_started"),
                "progress_narrative": item.get("progress_narrative", ""),
                "evidence_of_impact": item.get("evidence_of_impact", ""),
            },
        )
        wanted = {findings[reference].pk for reference in item.get("findings", [])}
        if set(action.findings.values_list("pk", flat=True)) != wanted:
            action.findings.set(wanted)
    for item in data.get("indicators", []):
        indicator = save_if_changed(
            Indicator,
            lookup={"code": item["code"]},
            values={
                "workstream": workstreams[item["workstream"]],
                "name": item["name"],
                "description": item.get("description", ""),
                "unit": item.get("unit", Indicator.Unit.NUMBER),
                "target": Decimal(str(item["target"])),
                "tolerance": Decimal(str(item.get("tolerance", 0))),
                "higher_is_better": item.get("higher_is_better", True),
            },
        )
        for value in item.get("values", []):
            save_if_changed(
                IndicatorValue,
                lookup={"indicator": indicator, "period": _period(value["period"])},
                values={"value": Decimal(str(value["value"])), "note": value.get("note", "")},
            )
    service_areas = {
        item["name"]: save_if_changed(ServiceArea, lookup={"name": item["name"]}, values={})
        for item in data.get("service_areas", [])
    }
    for item in data.get("workforce_snapshots", []):
        save_if_changed(
            WorkforceSnapshot,
            lookup={
                "service_area": service_areas[item["service_area"]],
                "as_of": _date(item["as_of"]),
            },
            values={
                "cutoff": _date(item["cutoff"]),
                "total": item["total"],
                "locum": item["locum"],
                "salaried": item["salaried"],
                "in_post_before_cutoff": item["in_post_before_cutoff"],
                "joined_since_cutoff": item["joined_since_cutoff"],
            },
        )
    return plan
