"""Running the long-lived services (worker, HTTP API) until a signal stops them all together."""

import asyncio
import contextlib
import signal
import socket
from collections.abc import Coroutine, Iterator
from typing import Any

import structlog
import uvicorn
from temporalio.worker import Worker

from api.app import create_app
from client.settings import Settings
from workers.notification_delivery import DeliveryLoop
from workers.ranking_schedule import ensure_ranking_schedule

log = structlog.get_logger(__name__)


class ApiServer(uvicorn.Server):
    """uvicorn serving the app on an already bound socket, leaving signals to the whistle process."""

    def __init__(self, settings: Settings, listener: socket.socket) -> None:
        super().__init__(uvicorn.Config(create_app(settings), log_config=None, access_log=False))
        self.listener = listener

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_services(
    *, worker: Worker | None = None, api: ApiServer | None = None, delivery: DeliveryLoop | None = None
) -> None:
    """Run until cancelled, then stop gracefully; a service that ends on its own is a failure."""
    running: dict[asyncio.Task, str] = {}
    if worker is not None:
        await ensure_ranking_schedule(worker.client, worker.task_queue)
        running[asyncio.create_task(worker.run())] = "worker"
    delivering = asyncio.create_task(delivery.run()) if delivery is not None else None
    if delivering is not None:
        running[delivering] = "notification delivery"
    if api is not None:
        running[asyncio.create_task(api.serve(sockets=[api.listener]))] = "api"
    try:
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if api is not None:
            api.should_exit = True
        if worker is not None:
            await worker.shutdown()
        if delivering is not None:
            delivering.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    for task in done:
        task.result()
        raise RuntimeError(f"the {running[task]} stopped unexpectedly")


async def until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; SIGINT or SIGTERM cancels it, so every `finally` and exit stack in it unwinds."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    stop_signals = (signal.SIGINT, signal.SIGTERM)

    def stop(received: signal.Signals) -> None:
        log.info("stopping", signal=received.name)
        task.cancel()

    for received in stop_signals:
        loop.add_signal_handler(received, stop, received)
    try:
        await task
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():  # we were cancelled from outside, not by a signal
            raise
    finally:
        for received in stop_signals:
            loop.remove_signal_handler(received)
