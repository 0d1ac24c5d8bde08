"""What a bench run measured: the figures, as JSON-serialisable models."""

from datetime import datetime

from pydantic import BaseModel


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without float surprises at exact ranks
    return ordered[int(rank) - 1]


class Latency(BaseModel):
    """Seconds."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> "Latency":
        if not values:
            return cls(count=0, p50=0.0, p99=0.0, max=0.0)
        return cls(count=len(values), p50=percentile(values, 0.5), p99=percentile(values, 0.99), max=max(values))


class WorkerUsage(BaseModel):
    """The worker process during one phase: CPU it spent, and its resident memory."""

    cpu_seconds: float
    rss_start_mb: float
    rss_peak_mb: float

    def cpu_per_1000(self, cases: int) -> float:
        return self.cpu_seconds * 1000 / cases if cases else 0.0

    def rss_growth_per_1000(self, cases: int) -> float:
        return (self.rss_peak_mb - self.rss_start_mb) * 1000 / cases if cases else 0.0


class Floor(BaseModel):
    workflows: int
    seconds: float
    per_second: float
    latency: Latency  # start to complete
    worker: WorkerUsage


class Intake(BaseModel):
    cases: int
    seconds: float
    per_second: float
    latency: Latency  # report to visible in the `cases` read model
    ratio_to_floor: float
    worker: WorkerUsage


class PathRun(BaseModel):
    """One lifecycle path: how many cases it drove and how long each took from report to completed workflow."""

    cases: int
    completed: int
    latency: Latency


class Lifecycle(BaseModel):
    resolved: PathRun  # accept -> resolve -> council sign-off -> satisfied feedback
    climbed: PathRun  # left alone up to DISTRICT, departments complete, satisfied feedback
    seconds: float  # first report to last completion
    sla_wait_seconds: float  # the climb's deliberate waiting on its budgets, not processing capacity
    per_second: float  # completed / (seconds - sla_wait_seconds)
    ratio_to_floor: float
    peak_in_flight: int
    update_timeouts: int  # update calls the overloaded server timed out and the driver asked again
    worker: WorkerUsage


class Precision(BaseModel):
    """Lateness of automatic escalations: the breach event's time minus the deadline it breached."""

    escalations: int  # ESCALATED events with details.automatic
    breaches: int  # SLA_BREACHED deadline events (one per automatic escalation)
    lateness: Latency
    peak_in_flight: int


class PathCost(BaseModel):
    """Per case (a case's department task workflows included), from sampled Temporal histories."""

    sampled: int
    workflows: float
    history_events: float
    history_bytes: float
    payload_bytes: float


class Cost(BaseModel):
    floor: PathCost
    intake: PathCost
    resolved: PathCost
    climbed: PathCost
    cpu_per_1000: dict[str, float]  # phase -> worker CPU seconds per 1,000 workflows / cases
    rss_peak_mb: dict[str, float]  # phase -> worker peak RSS
    rss_growth_per_1000_mb: dict[str, float]  # phase -> (peak - start) per 1,000 cases


class Queries(BaseModel):
    rows: int
    pending: str | None = None  # why the figure is missing
    seed_seconds: float = 0.0
    latency: dict[str, Latency] = {}  # query name -> latency


class Machine(BaseModel):
    cpus: int
    load_before: list[float]  # 1, 5, 15 minute load averages when the run started
    load_after: list[float]


class BenchRun(BaseModel):
    started_at: datetime
    quick: bool
    cases: int
    concurrency: int
    worker_options: dict[str, int]
    label: str | None = None
    machine: Machine
    floor: Floor
    intake: Intake
    lifecycle: Lifecycle
    precision: Precision
    cost: Cost
    queries: Queries
    total_seconds: float


PROCESSES = ("server", "worker", "postgres", "clients")


class StageCpu(BaseModel):
    """CPU seconds per item (a floor workflow or a case) for each process, and in all."""

    items: int
    per_item_ms: dict[str, float]

    @property
    def total_ms(self) -> float:
        return round(sum(self.per_item_ms.values()), 2)


class SteadyRun(BaseModel):
    started_at: datetime
    label: str | None = None
    rate: float  # cases per second
    minutes: float
    cases: int  # arrivals
    climbing: int  # of which on the climb policy
    cached_workflows: int  # the worker's cache
    open_workflows: int  # cases and department tasks open at the end
    machine: Machine
    floor: StageCpu
    steady: StageCpu
    intake: Latency  # report call
    owner_notified: Latency  # report to the owner's notification in the outbox
    lateness: Latency  # automatic escalations
    escalations: int
    worker: WorkerUsage
    worker_kb_per_cached_workflow: float
    arrivals_behind_seconds: float  # how far the open-loop schedule fell behind at worst (the client's own lag)
    total_seconds: float
