"""Cases driven through every path the way their callers drive them: intake over HTTP through the API (the
hotline's `/v1/cases` and Open311, each request retried with the same Idempotency-Key until it is answered,
then sent once more as a caller unsure of the first answer would), every handler's action a Temporal update
retried under the same update id (a retry attaches to the first)."""

import asyncio
import random
import time
import uuid
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

import httpx
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import registry
from bench.stack import CATEGORY, bench_category
from client.cases import case_handle, task_handle
from schemas.case import (
    Accept,
    Actor,
    Arrive,
    CaseReport,
    CaseView,
    DepartmentSummons,
    Feedback,
    Rejection,
    Reporter,
    Reroute,
    Resolve,
    Signoff,
    Whistle,
    Withdraw,
)
from schemas.domain import Level, Status
from schemas.task import TaskAccept, TaskActor, TaskComplete, TaskReturn
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

# path -> weight. "climb" waits on its demo-fast deadlines (about 90 s to DISTRICT), so it is reported first.
PATHS = {
    "climb": 10,
    "council": 20,
    "district": 14,
    "reroute": 10,
    "reopen": 10,
    "withdraw": 8,
    "duplicate": 12,
    "open311": 16,
}
REROUTED_TO = "CGZF"  # where a returned bench task goes next (not one of the bench category's own departments)
_RETRY_SECONDS = 0.5
# What the path of the current task is doing (shared by the department steps it gathers): a path cut off at
# the end of the drive says where it stood.
_STEP: ContextVar[list[str]] = ContextVar("chaos_step")
_HTTP_TIMEOUT_SECONDS = 30.0


class Moved(Exception):
    """The case moved on before the driver's step (a deadline escalated it first): the path ends there."""


@dataclass(frozen=True)
class Place:
    compound: str
    community: str
    street: str
    property_company: str
    owners_committee: str


@cache
def places() -> list[Place]:
    demo = registry.demo_jurisdiction()
    return [
        Place(
            compound["code"], community["code"], street["code"], compound["property_company"], f"OC-{compound['code']}"
        )
        for street in demo["streets"]
        for community in street["communities"]
        for compound in community["compounds"]
    ]


def plan(cases: int, rng: random.Random) -> list[str]:
    """The path of each case, in reporting order: every path at least once, the rest by weight."""
    paths = list(PATHS)[: min(cases, len(PATHS))]
    paths += rng.choices(list(PATHS), weights=list(PATHS.values()), k=max(cases - len(paths), 0))
    return sorted(paths, key=lambda path: path != "climb")


@cache
def needs_arrival() -> dict[str, bool]:
    """Every demo category (each links a second report in a compound to the open case) and whether the owner
    records an arrival before a resolution; the bench category too."""
    categories = {
        category["code"]: category["needs_arrival"] for category in registry.demo_jurisdiction()["categories"]
    }
    return {**categories, CATEGORY: bench_category().needs_arrival}


@dataclass
class Intake:
    """One ticket, every answer it got: each must name the same case."""

    key: str
    channel: str
    case_ids: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    cut_off: int = 0  # attempts cut off before an answer (the API killed mid-request)


class Receipt(BaseModel):
    case_id: str
    outcome: str
    token: str | None = None


@dataclass
class DriveLog:
    intakes: dict[str, Intake] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)  # HTTP status -> answers
    transport_errors: int = 0  # requests cut off (API killed mid-request, or not up yet)
    resumed: Counter[str] = field(default_factory=Counter)  # first answer after a cut-off attempt -> tickets
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503: never acceptable
    outcomes: Counter[str] = field(default_factory=Counter)  # "path: result" -> cases
    problems: list[str] = field(default_factory=list)  # what a path saw that is wrong (not a case moving on)
    case_ids: dict[str, str] = field(default_factory=dict)  # case id -> path
    cut_off: Counter[str] = field(default_factory=Counter)  # "path: step" -> paths cut off there
    moved: list[str] = field(default_factory=list)  # why paths ended early (deadlines overtaking the driver)
    update_retries: int = 0


class Driver:
    def __init__(self, client: Client, api_url: str, keys: dict[str, str], rng: random.Random) -> None:
        self.client = client
        self.http = httpx.AsyncClient(base_url=api_url, timeout=_HTTP_TIMEOUT_SECONDS)
        self.keys = keys  # "hotline" / "open311" -> intake API key
        self.rng = rng
        self.log = DriveLog()
        self.in_flight = 0  # HTTP requests under way
        self.requesting = asyncio.Event()  # set while one is (the API is killed then)
        self._duplicated: dict[str, tuple[Place, str]] = {}  # first case of a duplicated issue -> the issue
        self._duplicate_pairs = iter(
            [(place, category) for category in needs_arrival() if category != CATEGORY for place in places()]
        )

    async def close(self) -> None:
        await self.http.aclose()

    # ---- intake over HTTP ---------------------------------------------------------------------------------

    async def _send(self, what: str, request: httpx.Request) -> httpx.Response:
        """Send until answered below 500 (503 is the API saying a dependency is down: wait and retry)."""
        while True:
            self.in_flight += 1
            self.requesting.set()
            try:
                response = await self.http.send(request)
            except httpx.TransportError:
                self.log.transport_errors += 1
                if key := request.headers.get("Idempotency-Key"):
                    self.log.intakes[key].cut_off += 1
                response = None
            finally:
                self.in_flight -= 1
                if not self.in_flight:
                    self.requesting.clear()
            if response is not None:
                self.log.statuses[response.status_code] += 1
                if response.status_code < 500:
                    return response
                if response.status_code != 503:
                    self.log.server_errors.append(f"{what}: HTTP {response.status_code} {response.text[:200]}")
            await asyncio.sleep(_RETRY_SECONDS)

    async def _intake(self, channel: str, request: httpx.Request, read) -> Receipt:
        """The ticket sent until answered, then once more: both answers must name one case."""
        key = request.headers["Idempotency-Key"]
        intake = self.log.intakes.setdefault(key, Intake(key, channel))
        receipt = None
        for _attempt in range(2):
            response = await self._send(f"{channel} intake", request)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{channel} intake refused: HTTP {response.status_code} {response.text[:300]}")
            answer = read(response.json())
            intake.case_ids.append(answer.case_id)
            intake.outcomes.append(answer.outcome)
            if receipt is None and intake.cut_off:
                self.log.resumed[answer.outcome] += 1
            if channel == "hotline" and answer.token is None:  # every answer to the same report gives its token
                self.log.problems.append(f"{answer.case_id}: a hotline answer {answer.outcome} without a token")
            receipt = receipt or answer
        assert receipt is not None
        return receipt

    async def hotline(self, place: Place, category: str, number: int) -> Receipt:
        report = CaseReport(
            compound=place.compound,
            category=category,
            description=f"chaos case {number}: reported on the 12345 hotline",
            reporter=Reporter(name="王小明", phone="13912345678"),
            external_id=f"12345-{uuid.uuid4().hex[:12]}",
        )
        request = self.http.build_request(
            "POST",
            "/v1/cases",
            json=report.model_dump(mode="json", exclude_unset=True),
            headers={"Authorization": f"Bearer {self.keys['hotline']}", "Idempotency-Key": str(uuid.uuid4())},
        )
        return await self._intake("hotline", request, Receipt.model_validate)

    async def open311(self, place: Place, number: int) -> Receipt:
        form = {
            "api_key": self.keys["open311"],
            "service_code": CATEGORY,
            "attribute[compound]": place.compound,
            "lat": "39.12",
            "long": "117.20",
            "description": f"chaos case {number}: reported through Open311",
            "first_name": "李",
            "phone": "13812345678",
        }
        request = self.http.build_request(
            "POST", "/open311/v2/requests.json", data=form, headers={"Idempotency-Key": str(uuid.uuid4())}
        )

        def read(body) -> Receipt:
            notice = body[0]["service_notice"]
            return Receipt(case_id=body[0]["service_request_id"], outcome=notice)

        return await self._intake("open311", request, read)

    # ---- actions as updates -----------------------------------------------------------------------------

    async def _update(self, handle: WorkflowHandle, update, argument: BaseModel):
        _STEP.get([""])[0] = update.__name__
        update_id = str(uuid.uuid4())
        while True:
            try:
                return await handle.execute_update(update, argument, id=update_id)
            except WorkflowUpdateFailedError as error:
                cause = error.cause
                if not (isinstance(cause, ApplicationError) and cause.type == Rejection.NOT_READY):
                    raise Moved(f"{update.__name__}: {getattr(cause, 'message', cause)}") from None
                update_id = str(uuid.uuid4())  # that attempt is answered; ask again as a new request
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                if asyncio.current_task().cancelling():
                    raise asyncio.CancelledError() from None
            except RPCError as error:
                if error.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.PERMISSION_DENIED):
                    raise
            self.log.update_retries += 1
            await asyncio.sleep(_RETRY_SECONDS)

    async def view(self, case_id: str) -> CaseView:
        while True:
            try:
                return await case_handle(self.client, case_id).query(CaseWorkflow.view)
            except (RPCError, WorkflowQueryFailedError):
                await asyncio.sleep(_RETRY_SECONDS)

    async def until(self, case_id: str, condition, what: str, within: float) -> CaseView:
        _STEP.get([""])[0] = f"waiting until {what}"
        deadline = time.monotonic() + within
        while True:
            view = await self.view(case_id)
            if condition(view):
                return view
            if view.status is Status.CLOSED or time.monotonic() > deadline:
                raise Moved(f"never {what} (status {view.status}, level {view.level})")
            await asyncio.sleep(_RETRY_SECONDS)

    async def _department(self, case_id: str, department: str, *, returns: bool = False) -> None:
        handle = task_handle(self.client, case_id, department)
        actor = TaskActor(department=department)
        await self._update(handle, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
        if returns:
            await self._update(handle, DepartmentTaskWorkflow.return_task, TaskReturn(actor=actor, reason="not ours"))
        else:
            await self._update(handle, DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result="done"))

    # ---- paths ------------------------------------------------------------------------------------------

    async def drive(self, number: int, path: str, *, until: float) -> None:
        """Report a case and drive it along `path` until the loop time `until` (the intake itself is never cut
        off: its caller retries until answered)."""
        place = self.rng.choice(places())
        case_id = None
        step = ["reporting"]
        _STEP.set(step)
        try:
            if path == "duplicate":
                case_id, token = await self._duplicate(number)
                place = self._duplicated[case_id][0]
            else:
                receipt = await (
                    self.open311(place, number) if path == "open311" else self.hotline(place, CATEGORY, number)
                )
                case_id, token = receipt.case_id, receipt.token
                self.log.case_ids[case_id] = path
            async with asyncio.timeout_at(until):
                await self.view(case_id)  # answers once the case has opened
                steps = self._duplicate_solved if path == "duplicate" else getattr(self, f"_{path}")
                await steps(case_id, place, token, until - asyncio.get_running_loop().time())
            self.log.outcomes[f"{path}: done"] += 1
        except Moved as moved:
            self.log.outcomes[f"{path}: moved on first"] += 1
            self.log.moved.append(f"{case_id} ({path}): {moved}")
        except TimeoutError:
            self.log.outcomes[f"{path}: cut off at the end of the drive"] += 1
            self.log.cut_off[f"{path}: {step[0]}"] += 1
        except Exception as error:  # noqa: BLE001 - a driver failure is a finding, reported with the rest
            self.log.outcomes[f"{path}: failed"] += 1
            self.log.problems.append(f"{case_id} ({path}): {type(error).__name__}: {str(error)[:300]}")

    async def _solve_in_council(self, case_id: str, place: Place, category: str = CATEGORY) -> None:
        handle = case_handle(self.client, case_id)
        company = Actor(org=place.property_company)
        await self._update(handle, CaseWorkflow.accept, Accept(actor=company))
        if needs_arrival()[category]:
            await self._update(handle, CaseWorkflow.arrive, Arrive(actor=company))
        await self._update(handle, CaseWorkflow.resolve, Resolve(actor=company, summary="corridor cleared"))
        await self._update(handle, CaseWorkflow.signoff, Signoff(actor=Actor(org=place.owners_committee), agree=True))

    async def _satisfied(self, case_id: str, token: str | None) -> None:
        assert token is not None
        await self._update(
            case_handle(self.client, case_id), CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5)
        )

    async def _council(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        await self._solve_in_council(case_id, place)
        await self._satisfied(case_id, token)

    async def _open311(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        await self._solve_in_council(case_id, place)  # no token: the feedback window closes it

    async def _reopen(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        assert token is not None
        await self._solve_in_council(case_id, place)
        unhappy = Feedback(token=token, satisfied=False, score=2, comment="still blocked")
        await self._update(case_handle(self.client, case_id), CaseWorkflow.feedback, unhappy)
        await self._solve_in_council(case_id, place)
        await self._satisfied(case_id, token)

    async def _withdraw(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        assert token is not None
        await self._update(
            case_handle(self.client, case_id), CaseWorkflow.withdraw, Withdraw(token=token, reason="sorted it out")
        )

    async def _to_district(self, case_id: str, place: Place) -> None:
        handle = case_handle(self.client, case_id)
        await self._update(handle, CaseWorkflow.whistle, Whistle(actor=Actor(org=place.property_company), reason="up"))
        await self._update(handle, CaseWorkflow.whistle, Whistle(actor=Actor(org=place.community), reason="up"))
        street = Actor(org=place.street)
        await self._update(handle, CaseWorkflow.accept, Accept(actor=street))
        routing = bench_category().routing
        summons = DepartmentSummons(lead=routing.lead, assist=routing.assist)
        await self._update(
            handle, CaseWorkflow.whistle, Whistle(actor=street, reason="departments", departments=summons)
        )

    async def _departments_finish(self, case_id: str, token: str | None, within: float) -> None:
        routing = bench_category().routing
        await asyncio.gather(*(self._department(case_id, code) for code in [routing.lead, *routing.assist]))
        await self.until(case_id, lambda view: view.status is Status.RESOLVED, "resolved", within)
        await self._satisfied(case_id, token)

    async def _district(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        await self._to_district(case_id, place)
        await self._departments_finish(case_id, token, within)

    async def _climb(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        await self.until(case_id, lambda view: view.level is Level.DISTRICT, "at DISTRICT", within)
        await self._departments_finish(case_id, token, within)

    async def _reroute(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        await self._to_district(case_id, place)
        routing = bench_category().routing
        await asyncio.gather(
            self._department(case_id, routing.lead, returns=True),
            *(self._department(case_id, code) for code in routing.assist),
        )
        await self.until(case_id, lambda view: routing.lead in view.returned, "returned", within)
        reroute = Reroute(
            actor=Actor(org=place.street), departments=DepartmentSummons(lead=REROUTED_TO), reason="theirs"
        )
        await self._update(case_handle(self.client, case_id), CaseWorkflow.reroute, reroute)
        await self._department(case_id, REROUTED_TO)
        await self.until(case_id, lambda view: view.status is Status.RESOLVED, "resolved", within)
        await self._satisfied(case_id, token)

    async def _duplicate(self, number: int) -> tuple[str, str | None]:
        """One issue reported twice on the hotline: the second report follows the first case."""
        place, category = next(self._duplicate_pairs)
        first = await self.hotline(place, category, number)
        self.log.case_ids[first.case_id] = "duplicate"
        self._duplicated[first.case_id] = (place, category)
        if first.outcome == "LINKED":  # EXISTING is the answer to a retry after a cut-off CREATED
            self.log.problems.append(f"{first.case_id}: first report of {place.compound}/{category} was LINKED")
        second = await self.hotline(place, category, number)
        if second.case_id != first.case_id:
            self.log.problems.append(
                f"second report of {place.compound}/{category} opened {second.case_id} ({second.outcome}), "
                f"not linked to {first.case_id}"
            )
            self.log.case_ids.setdefault(second.case_id, "duplicate")
        return first.case_id, first.token

    async def _duplicate_solved(self, case_id: str, place: Place, token: str | None, within: float) -> None:
        _place, category = self._duplicated[case_id]
        await self._solve_in_council(case_id, place, category)
        await self._satisfied(case_id, token)
