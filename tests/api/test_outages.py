"""Dependencies failing under the API: every failure is a 503 naming PostgreSQL, Temporal or the worker, with
`Retry-After`, never a 500, and the API recovers by itself once the dependency is back.

PostgreSQL is a real server of this module's own (embedded, on a temp dir), really stopped, held in recovery
("cannot connect now") and restarted while requests keep coming; Temporal is the real dev server, or an
address where nothing listens.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from activities.db import connect
from api import errors, keys
from api.app import create_app
from api.language import LanguageMiddleware
from client.settings import Settings
from schemas.keys import Role
from tests.api.conftest import COMPOUND, bearer, settings_for
from tests.postgres import OwnPostgres, create_database, own_postgres_server
from tests.waiting import HTTP_TIMEOUT

RECOVERY = 60.0  # seconds PostgreSQL may take to be back, on a busy machine


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    with own_postgres_server("whistle_outages") as postgres:
        yield postgres


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outage_database(own_postgres) -> dict[str, str]:
    """The demo jurisdiction in a database of the own server; the supervisor key issued there."""
    await create_database(own_postgres.server, own_postgres.database)
    connection = await connect(own_postgres.url)
    try:
        return {"centre": (await keys.issue(connection, "HP-CENTRE", Role.SUPERVISOR)).key}
    finally:
        await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def api(dev_env, own_postgres, outage_database) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (no worker: these requests never reach one) against the dev server and the own PostgreSQL."""
    async with _served(settings_for(dev_env, own_postgres.url, "whistle-outages-no-worker")) as client:
        yield client


@asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT,
            transport=httpx.ASGITransport(app=app),
            base_url="http://whistle.test",
            headers={"Accept-Language": "en"},  # the words these tests read
        ) as client:
            yield client


def assert_unavailable(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    message = body[0]["description"] if isinstance(body, list) else body["detail"]
    assert f"{dependency} is unavailable" in message, message
    assert isinstance(body, list) or body["code"] == "unavailable", body


async def until_answers(request: Callable[[], Awaitable[httpx.Response]], status: int) -> list[httpx.Response]:
    """Send `request` until it answers `status` (bounded): every answer on the way."""
    answers = []
    deadline = asyncio.get_running_loop().time() + RECOVERY
    while not answers or answers[-1].status_code != status:
        assert asyncio.get_running_loop().time() < deadline, [a.text for a in answers[-3:]]
        answers.append(await request())
    return answers


def _requests(api: httpx.AsyncClient, key: str) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
    report = {"compound": COMPOUND, "category": "NOISE", "description": "drums at midnight"}
    return {
        "statistics": lambda: api.get("/v1/supervisor/statistics", headers=bearer(key)),
        "report": lambda: api.post("/v1/cases", json=report),
        "open311": lambda: api.get("/open311/v2/services.json"),
    }


async def test_postgres_stopped_is_503_then_recovers(api, own_postgres, outage_database):
    requests = _requests(api, outage_database["centre"])
    assert (await requests["statistics"]()).status_code == 200  # the pool holds a live connection now
    await asyncio.to_thread(own_postgres.stop)
    try:
        for request in requests.values():
            assert_unavailable(await request(), "PostgreSQL")
        health = await api.get("/healthz")
        assert health.status_code == 503 and not health.json()["postgres"]["ok"]
    finally:
        await asyncio.to_thread(own_postgres.start)
    await until_answers(requests["statistics"], 200)
    assert (await requests["open311"]()).status_code == 200


async def test_postgres_that_cannot_accept_connections_yet_is_503(api, own_postgres, outage_database):
    requests = _requests(api, outage_database["centre"])
    await asyncio.to_thread(own_postgres.stop)
    await asyncio.to_thread(own_postgres.start_in_recovery)
    try:
        for request in requests.values():
            response = await request()
            assert_unavailable(response, "PostgreSQL")
            assert "CannotConnectNowError" in response.text
    finally:
        await asyncio.to_thread(own_postgres.promote)
    await until_answers(requests["statistics"], 200)


async def test_requests_while_postgres_restarts_are_200_or_503_never_500(api, own_postgres, outage_database):
    statistics = _requests(api, outage_database["centre"])["statistics"]
    assert (await statistics()).status_code == 200

    def crash_and_restart() -> None:  # an immediate stop: the start runs crash recovery ("starting up")
        own_postgres.stop("immediate")
        own_postgres.start()

    restart = asyncio.create_task(asyncio.to_thread(crash_and_restart))
    answers = []
    while not restart.done():
        answers.append(await statistics())  # a 500 would raise here (the transport re-raises app errors)
        await asyncio.sleep(0)
    await restart
    answers += await until_answers(statistics, 200)
    assert {answer.status_code for answer in answers} <= {200, 503}, [a.text for a in answers if a.status_code >= 500]
    for answer in answers:
        if answer.status_code == 503:
            assert_unavailable(answer, "PostgreSQL")
    assert any(answer.status_code == 503 for answer in answers), "no request saw the restart"


async def test_temporal_unreachable_is_503_naming_temporal(dev_env, own_postgres, outage_database):
    settings = settings_for(dev_env, own_postgres.url, "whistle-outages-no-worker")
    async with _served(settings.model_copy(update={"temporal_address": "127.0.0.1:9"})) as api:
        case = await api.get("/v1/supervisor/cases/WH-20000101-000000", headers=bearer(outage_database["centre"]))
        assert_unavailable(case, "Temporal")
        report = {"compound": COMPOUND, "category": "NOISE", "description": "drums at midnight"}
        assert_unavailable(await api.post("/v1/cases", json=report), "Temporal")  # starting the workflow
        assert_unavailable(await api.get("/open311/v2/requests/WH-20000101-000000.json"), "Temporal")


async def test_no_worker_answering_is_503_naming_the_worker(api, outage_database):
    report = {"compound": COMPOUND, "category": "PARKING", "description": "a van on the fire lane"}
    reported = await api.post("/v1/cases", json=report)
    assert reported.status_code == 201, reported.text  # Temporal took the workflow; no worker runs it
    view = await api.get(
        f"/v1/supervisor/cases/{reported.json()['case_id']}", headers=bearer(outage_database["centre"])
    )
    assert_unavailable(view, "worker")


async def test_a_connection_cut_mid_protocol_is_503_not_500():
    """What `whistle chaos` met while PostgreSQL stopped under an Open311 request: a pooled connection whose
    operation the stop cut off, reused, fails with asyncpg's InternalClientError ("cannot switch to state 12;
    another operation (2) is in progress"). The pool replaces such a connection on release: PostgreSQL is
    unavailable for this request, nothing more."""
    app = FastAPI()
    errors.install(app)
    app.add_middleware(LanguageMiddleware)

    @app.get("/cut")
    async def cut() -> None:
        raise asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False)) as http:
        response = await http.get("http://whistle.test/cut", headers={"Accept-Language": "en"})
    assert_unavailable(response, "PostgreSQL")
