"""What every server-rendered page shares: the template environment, speaking the request's language
(gettext through `jinja2.ext.i18n`), with local times, durations, percentages and names as filters."""

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from i18n import deadlines, language, names, spans, zone

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(),
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Templates(env=_environment)
templates.env.install_gettext_callables(language.gettext, language.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.filters.update(
    local_time=zone.local_time,
    moment=zone.moment_text,
    span=spans.span,
    time_left=spans.time_left,
    percent=spans.percent,
    number=spans.number,
    name=names.name,
    counted=deadlines.counted,
)
templates.env.globals.update(
    current_language=language.current,
    languages=language.LANGUAGE_NAMES,
    zone_label=zone.zone_label,
)
