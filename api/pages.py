"""What every server-rendered page shares: the template environment, speaking the request's language
(gettext through `jinja2.ext.i18n`), with local times, durations, percentages and names as filters."""

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api import access
from i18n import deadlines, language, names, spans, zone

_STATIC_DIR = Path(__file__).parent / "static"

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


def serve_static(router: APIRouter, files: dict[str, str]) -> None:
    """GET `<router prefix>/static/{name}`: the page set's own scripts and styles (`files`: name → media type),
    served from this machine (no CDN: the pages work offline)."""

    @router.get("/static/{name}", dependencies=[access.Public])
    async def static(name: str) -> Response:
        if name not in files:
            return Response(status_code=404)
        content = (_STATIC_DIR / name).read_bytes()
        return Response(content, media_type=files[name], headers={"Cache-Control": "max-age=300"})
