"""The notification delivery loop, and the worker process that runs it, ride out PostgreSQL stopping
and starting again: they pause, resume, and deliver what was queued afterwards."""

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import structlog

from activities.db import create_pool
from activities.notifications import Notification
from activities.webhooks import Subscription
from client import cases
from schemas.case import CaseReport
from tests.resident.conftest import Receiver, free_port
from tests.waiting import eventually
from workers.notification_delivery import Backoff, DeliveryLoop

_QUEUE = """INSERT INTO notifications (case_id, seq, recipient, topic, level, occurred_at, payload)
            VALUES ($1, 1, 'PM-JINDI', 'REPORTED', 'COUNCIL', now(), '{"text": "outage test"}')"""


class StallingChannel:
    """Records what it sends; the first send waits until the test lets it go, holding the claim open."""

    name = "log"

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, notification: Notification, subscription: Subscription | None) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        self.sent.append(notification.case_id)


async def test_the_loop_rides_out_postgres_stopping_while_it_holds_a_connection(own_postgres):
    pool = await create_pool(own_postgres.url)
    channel = StallingChannel()
    loop = DeliveryLoop(
        pool,
        default=channel,
        outage=Backoff(initial=timedelta(milliseconds=50), maximum=timedelta(milliseconds=200)),
        poll_interval=0.05,
    )
    await pool.execute(_QUEUE, "BEFORE")
    running = asyncio.create_task(loop.run())
    try:
        with structlog.testing.capture_logs() as logs:
            await asyncio.wait_for(channel.holding.wait(), 30)  # the claim transaction is open
            await asyncio.to_thread(own_postgres.stop)
            channel.release.set()

            async def paused() -> bool:
                assert not running.done(), running.exception()
                return any(entry["event"] == "notification delivery paused" for entry in logs)

            await eventually(paused, what="the loop to notice the outage")
            await asyncio.to_thread(own_postgres.start)
            await pool.execute(_QUEUE, "AFTER")

            async def delivered() -> bool:
                assert not running.done(), running.exception()
                return await pool.fetchval("SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL") == 2

            await eventually(delivered, what="delivery after the restart")
        # the claim that was cut never committed, so that row is sent again (receivers deduplicate on its id)
        assert sorted(channel.sent) == ["AFTER", "BEFORE", "BEFORE"]
        events = [entry["event"] for entry in logs]
        assert events.count("notification delivery paused") == 1 and "notification delivery resumed" in events
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pool.close()


@dataclass
class StallingReceiver(Receiver):
    """A webhook receiver that holds its first request until the test lets it answer."""

    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        await super()._serve(reader, writer)


async def test_the_worker_process_survives_a_postgres_restart(own_postgres, dev_env, task_queue, tmp_path):
    """PostgreSQL stops while the worker's delivery loop holds a claim open (a webhook still answering)."""
    receiver = await StallingReceiver(port=free_port()).start()
    output = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "DATABASE_URL": own_postgres.url,
        "WHISTLE_TASK_QUEUE": task_queue,
        "WHISTLE_LOG_FORMAT": "json",
    }
    pool = await create_pool(own_postgres.url)
    subscribe = "INSERT INTO webhook_subscriptions (org, url, secret) VALUES ('*', $1, 'shared-with-the-receiver')"
    await pool.execute(subscribe, receiver.url)
    with output.open("wb") as sink:
        worker = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("whistle")), "worker", env=environment, stdout=sink, stderr=sink
        )

    def alive() -> None:
        assert worker.returncode is None, f"the worker exited ({worker.returncode}):\n{output.read_text()}"

    def watching(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
        async def alive_and() -> bool:
            alive()
            return check()

        return alive_and

    async def report(compound: str) -> str:
        report = CaseReport(compound=compound, category="NOISE", description="loud music after 23:00")
        return (await cases.report_case(dev_env.client, pool, report, task_queue=task_queue)).case_id

    async def delivered(case_id: str) -> None:
        async def check() -> bool:
            alive()
            undelivered = "SELECT count(*) FROM notifications WHERE case_id = $1 AND delivered_at IS NULL"
            outbox = "SELECT count(*) FROM notifications WHERE case_id = $1"
            return await pool.fetchval(outbox, case_id) > 0 and await pool.fetchval(undelivered, case_id) == 0

        await eventually(check, what=f"the worker to deliver the notifications of {case_id}")

    try:
        before = await report("HP-DF-QH-1")
        await eventually(watching(receiver.holding.is_set), what="the worker to claim and send a notification")
        await pool.close()  # the test's own connections would be cut too
        await asyncio.to_thread(own_postgres.stop)
        receiver.release.set()
        await eventually(watching(lambda: _logged(output, "notification delivery paused")), what="the worker to pause")
        alive()
        await asyncio.to_thread(own_postgres.start)
        pool = await create_pool(own_postgres.url)
        after = await report("HP-DF-QH-2")
        await delivered(after)
        await delivered(before)
        alive()
    finally:
        if worker.returncode is None:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), 30)
        await pool.close()
        await receiver.stop()


def _logged(output: Path, event: str) -> bool:
    for line in output.read_text().splitlines():
        try:
            if json.loads(line).get("event") == event:
                return True
        except ValueError:
            continue
    return False
