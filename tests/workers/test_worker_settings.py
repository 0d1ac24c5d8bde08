"""The worker's workflow cache: big enough for many open cases by default, and set from the environment."""

import pytest

from client.settings import Settings
from workers.worker import CACHED_WORKFLOWS, build_worker


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_caches_ten_thousand_open_workflows_unless_configured(
    fresh_time_env, pool, task_queue, monkeypatch
):
    default = build_worker(fresh_time_env.client, pool, task_queue)
    assert default.config()["max_cached_workflows"] == CACHED_WORKFLOWS == 10_000

    monkeypatch.setenv("WHISTLE_MAX_CACHED_WORKFLOWS", "2500")
    settings = Settings.from_env()
    configured = build_worker(
        fresh_time_env.client, pool, f"{task_queue}-configured", max_cached_workflows=settings.max_cached_workflows
    )
    assert configured.config()["max_cached_workflows"] == 2500


def test_a_negative_cache_size_is_refused(monkeypatch):
    monkeypatch.setenv("WHISTLE_MAX_CACHED_WORKFLOWS", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings.from_env()
