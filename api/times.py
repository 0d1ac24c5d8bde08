"""The JSON every endpoint answers, with its times on the deployment's clock (`2026-11-24T09:43:46+08:00`):
the app's default response class, so no endpoint has to remember it. Inputs keep taking any offset."""

from typing import Any

from fastapi.responses import JSONResponse

from i18n.offsets import on_local_clock


class LocalTimeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(on_local_clock(content))
