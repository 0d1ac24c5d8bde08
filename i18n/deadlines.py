"""How a level's deadline was counted, as a person reads it: "3 个工作日，截止 10月8日 17:00（国庆假期顺延）"."""

from datetime import timedelta

from i18n.language import N_, _, gettext, ngettext
from i18n.spans import number, span
from i18n.zone import moment_text
from schemas.calendar import Clock
from schemas.case import Stage

# The holidays as the seed (chinese_calendar) names them; a day an administrator names reads as they typed it.
HOLIDAYS = (
    N_("New Year's Day"),
    N_("Spring Festival"),
    N_("Tomb-sweeping Day"),
    N_("Labour Day"),
    N_("Dragon Boat Festival"),
    N_("Mid-autumn Festival"),
    N_("National Day"),
    N_("Anti-Fascist 70th Day"),
)


def budget_text(budget: timedelta, clock: Clock) -> str:
    """3 个工作日 / 2 个工作小时 on the working clock; 30分钟 / 1天 on the wall clock."""
    if clock is Clock.WALL:
        return span(budget)
    days, hours = budget.days, (budget - timedelta(days=budget.days)) / timedelta(hours=1)
    parts = [ngettext("%(n)s working day", "%(n)s working days", days) % {"n": days}] if days else []
    if hours:
        parts.append(ngettext("%(n)s working hour", "%(n)s working hours", hours) % {"n": number(round(hours, 2))})
    return _("%(larger)s %(smaller)s") % {"larger": parts[0], "smaller": parts[1]} if len(parts) == 2 else parts[0]


def counted(stage: Stage) -> str:
    """The level's budget, its deadline, the holidays it was carried over and the time it stood paused."""
    text = _("%(budget)s, due %(deadline)s") % {
        "budget": budget_text(stage.budget, stage.clock),
        "deadline": moment_text(stage.deadline),
    }
    if stage.holidays:
        holidays = _(", ").join(gettext(holiday) for holiday in stage.holidays)
        text = _("%(text)s (carried over the %(holidays)s holiday)") % {"text": text, "holidays": holidays}
    if stage.paused:
        text = _("%(text)s, paused for %(span)s") % {"text": text, "span": span(stage.paused)}
    return text
