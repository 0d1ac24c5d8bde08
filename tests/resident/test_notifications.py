"""The notification outbox and its delivery: idempotent rows, the log channel, signed webhooks, retries."""

import hashlib
import hmac
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from activities import notifications, webhooks
from activities.cases import CaseActivities
from i18n.language import CHINESE, speaking
from schemas.case import CaseProjection, CaseSummary, Feedback
from tests.conftest import whistle_cli
from tests.resident.conftest import REPORTER, Receiver, free_port
from tests.resident.test_feedback import resolve_at_council
from tests.waiting import eventually, projected
from workers.notification_delivery import DeliveryLoop
from workflows.case import CaseWorkflow

SECRET = "s3cret-shared-with-the-receiver"


async def outbox(pool, case_id: str) -> list[notifications.OutboxEntry]:
    async with pool.acquire() as connection:
        return await notifications.outbox(connection, case_id=case_id, limit=1000)


async def delivered(pool, case_id: str, recipient: str) -> bool:
    """The recipient's notifications of the case are written (projections are asynchronous) and all delivered."""
    entries = [entry for entry in await outbox(pool, case_id) if entry.recipient == recipient]
    return bool(entries) and all(entry.delivered_at for entry in entries)


async def claim_round(pool) -> None:
    """What a restarted worker does first: one whole claim round over the outbox, run here to its end."""
    async with httpx.AsyncClient(timeout=10) as http:
        await DeliveryLoop(pool).deliver_due(webhooks.WebhookChannel(http))


async def test_a_reopened_case_notifies_owners_and_the_resident_once(resident, pool):
    handle, token = await resident.report(reporter=REPORTER)
    await resolve_at_council(handle)
    await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=False, score=1))
    await resolve_at_council(handle)
    view = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=4))
    await projected(pool, view)
    resident_address = f"resident:{view.case_id}"
    sent = sorted((n.seq, n.topic, n.recipient) for n in await outbox(pool, view.case_id))
    council_others = ("HP-DF-QH", "OC-HP-DF-QH-1")  # the parties asked to sign off the property's proposal

    def each(kind: str, topic: str, *recipients: str) -> list[tuple[int, str, str]]:
        return [(e.seq, topic, to) for e in view.timeline if e.kind == kind for to in recipients]

    assert sent == sorted(
        each("REPORTED", "REPORTED", *council_others, "PM-LVYUAN", resident_address)
        + each("RESOLUTION_PROPOSED", "RESOLUTION_PROPOSED", *council_others)
        + each("RESOLVED", "FEEDBACK_REQUESTED", resident_address)
        + each("REOPENED", "REOPENED", "PM-LVYUAN", resident_address)
        + each("CLOSED", "CLOSED", "PM-LVYUAN", resident_address)
    )
    reopened = {n.recipient: n for n in await outbox(pool, view.case_id) if n.topic == "REOPENED"}
    assert reopened["PM-LVYUAN"].payload["text"] == f"{view.case_id}（楼道杂物，阳光小区）：案件重新办理，回到小区三方"
    assert reopened[resident_address].payload["text"].startswith(f"您反映的楼道杂物（{view.case_id}）已重新办理，将于")
    assert "comment" not in reopened["PM-LVYUAN"].payload["details"]

    # The projection activity retried (after a lost completion, say) writes nothing twice.
    replayed = CaseProjection(
        summary=CaseSummary(**view.model_dump(include=set(CaseSummary.model_fields))), events=view.timeline
    )
    await CaseActivities(pool).project(replayed)
    assert sorted((n.seq, n.topic, n.recipient) for n in await outbox(pool, view.case_id)) == sent


async def test_the_log_channel_delivers_by_default(resident, pool, delivery, log_lines):
    handle, _ = await resident.report(compound="HP-DF-QH-2", reporter=REPORTER)
    case_id = handle.id.removeprefix("case-")
    delivery()
    await eventually(lambda: delivered(pool, case_id, "PM-JINDI"), what="the log delivery")
    entry = next(n for n in await outbox(pool, case_id) if n.recipient == "PM-JINDI")
    assert entry.channel == "log" and entry.attempts == 1 and entry.last_error is None
    lines = [json.loads(line) for line in log_lines if f"{case_id}:1:PM-JINDI" in line]
    assert [(line["event"], line["topic"], line["recipient"]) for line in lines] == [
        ("notification", "REPORTED", "PM-JINDI")
    ]


async def test_webhook_delivered_once_with_a_valid_signature(resident, pool, delivery):
    receiver = await Receiver(port=free_port()).start()
    try:
        async with pool.acquire() as connection:
            await webhooks.subscribe(
                connection, webhooks.Subscription(org="PM-HUAXIA", url=receiver.url, secret=SECRET)
            )
        handle, _ = await resident.report(compound="HP-DF-YL-1", reporter=REPORTER)
        case_id = handle.id.removeprefix("case-")
        delivery(), delivery()  # two workers claim from the same outbox
        await eventually(lambda: delivered(pool, case_id, "PM-HUAXIA"), what="the webhook delivery")
        mine = [r for r in receiver.requests if r.headers["x-whistle-id"].startswith(f"{case_id}:")]
        assert [r.headers["x-whistle-id"] for r in mine] == [f"{case_id}:1:PM-HUAXIA"]
        request = mine[0]
        timestamp = request.headers["x-whistle-timestamp"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-whistle-signature"] == f"v1={expected}"
        assert webhooks.verify(SECRET, timestamp, request.body, request.headers["x-whistle-signature"])
        assert not webhooks.verify(
            "another-secret-16ch", timestamp, request.body, request.headers["x-whistle-signature"]
        )
        body = json.loads(request.body)
        assert body["id"] == f"{case_id}:1:PM-HUAXIA" and body["topic"] == "REPORTED" and body["case_id"] == case_id
        assert body["case"]["owner"] == "PM-HUAXIA" and body["level"] == "COUNCIL"
        reported = (await resident.view(handle)).timeline[0]
        assert body["at"].endswith("+08:00") and datetime.fromisoformat(body["at"]) == reported.at  # same instant
        assert body["case"]["deadline"].endswith("+08:00")
        assert body["text"] == f"新案件 {case_id}（楼道杂物，翠园）：由小区三方联动首先处理"
        assert REPORTER.phone not in request.body.decode() and REPORTER.name not in request.body.decode()

        await claim_round(pool)  # a restarted worker sends nothing again
        assert len([r for r in receiver.requests if r.headers["x-whistle-id"].startswith(f"{case_id}:")]) == 1
        entry = next(n for n in await outbox(pool, case_id) if n.recipient == "PM-HUAXIA")
        assert entry.channel == "webhook" and entry.attempts == 1
    finally:
        await receiver.stop()


async def test_receiver_down_then_up_gets_it_exactly_once(resident, pool, delivery, database_url):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/whistle"
    async with pool.acquire() as connection:
        await webhooks.subscribe(connection, webhooks.Subscription(org="HP-XH-CH", url=url, secret=SECRET))
    handle, _ = await resident.report(compound="HP-XH-CH-1", reporter=REPORTER)
    case_id = handle.id.removeprefix("case-")
    delivery()

    async def failing() -> bool:
        entries = [n for n in await outbox(pool, case_id) if n.recipient == "HP-XH-CH"]
        return bool(entries) and entries[0].attempts >= 3 and entries[0].delivered_at is None

    await eventually(failing, what="retries against the receiver that is down")
    async with pool.acquire() as connection:
        failed = await notifications.outbox(connection, case_id=case_id, failed=True)
    assert [n.recipient for n in failed] == ["HP-XH-CH"] and "connect" in (failed[0].last_error or "").lower()
    listed = await whistle_cli(resident.env, database_url, "notifications", "list", "--failed", "--case", case_id)
    assert f"{case_id}:" in listed and "HP-XH-CH" in listed and "投递失败" in listed

    receiver = await Receiver(port=port, failures=1).start()  # up, though its first answer is a 503
    try:
        await eventually(lambda: delivered(pool, case_id, "HP-XH-CH"), what="delivery once the receiver is up")
        ids = [r.headers["x-whistle-id"] for r in receiver.requests if r.headers["x-whistle-id"].startswith(case_id)]
        assert len(ids) == 2 and len(set(ids)) == 1  # the 503 answer, then the delivery: once accepted
        entry = next(n for n in await outbox(pool, case_id) if n.recipient == "HP-XH-CH")
        assert entry.attempts >= 5 and entry.last_error == f"HTTP 503 from {url}" and entry.delivered_at
        listed = await whistle_cli(resident.env, database_url, "notifications", "list", "--case", case_id)
        assert "已投递（Webhook）" in listed
    finally:
        await receiver.stop()


async def test_a_stored_subscription_that_no_longer_validates_fails_its_rows_not_the_loop(pool, delivery):
    """E.g. a secret written by hand, shorter than the API accepts: its rows wait with the reason, the rest go."""
    await pool.execute("INSERT INTO webhook_subscriptions (org, url, secret) VALUES ('PM-BROKEN', 'http://x', 'short')")
    queue = """INSERT INTO notifications (case_id, seq, recipient, topic, level, occurred_at, payload)
               VALUES ($1, 1, $2, 'REPORTED', 'COUNCIL', now(), '{"text": "hand-made"}')"""
    await pool.execute(queue, "WH-20260101-900001", "PM-BROKEN")
    await pool.execute(queue, "WH-20260101-900002", "PM-FINE")
    running = delivery()

    async def both_tried() -> bool:
        assert not running.done(), running.exception()
        broken, fine = await outbox(pool, "WH-20260101-900001"), await outbox(pool, "WH-20260101-900002")
        return broken[0].attempts >= 1 and fine[0].delivered_at is not None

    await eventually(both_tried, what="both rows to be tried")
    broken = (await outbox(pool, "WH-20260101-900001"))[0]
    assert broken.delivered_at is None and "secret" in broken.last_error and broken.channel is None


async def test_notifications_read_in_chinese_with_names_and_local_times(resident, pool):
    """The deployment's language (Chinese unless WHISTLE_LANG says otherwise), organisations and categories by
    name, times on Beijing's clock; the machine fields stay codes."""
    handle, _ = await resident.report(reporter=REPORTER)
    view = await resolve_at_council(handle)
    await projected(pool, view)
    sent = {(n.topic, n.recipient): n for n in await outbox(pool, view.case_id)}

    proposed = sent[("RESOLUTION_PROPOSED", "HP-DF-QH")]
    assert proposed.payload["text"] == (
        f"{view.case_id}（楼道杂物，阳光小区）：绿苑物业提出解决方案，待三方签字确认：corridor cleared"
    )
    assert proposed.payload["actor"] == "PM-LVYUAN" and proposed.payload["case"]["category"] == "CORRIDOR_CLUTTER"
    assert proposed.payload["language"] == "zh_CN"

    due = view.feedback_due.astimezone(ZoneInfo("Asia/Shanghai"))
    feedback = sent[("FEEDBACK_REQUESTED", f"resident:{view.case_id}")]
    assert feedback.payload["text"] == (
        f"您反映的楼道杂物（{view.case_id}）已办结，请于{due.month}月{due.day}日 {due:%H:%M}前评价。"
    )
    assert "PM-LVYUAN" not in feedback.payload["text"] and "COUNCIL" not in feedback.payload["text"]


async def test_notifications_speak_the_deployments_language(resident, pool, monkeypatch):
    """WHISTLE_LANG, not whatever the worker's process happens to speak (a CLI speaks its locale's language)."""
    handle, _ = await resident.report(category="NOISE", reporter=REPORTER)
    view = await resident.view(handle)
    case_id = "WH-20260101-990001"  # the same events once more, under an id of their own
    summary = CaseSummary(**view.model_dump(include=set(CaseSummary.model_fields)) | {"case_id": case_id})
    monkeypatch.setenv("WHISTLE_LANG", "en")
    with speaking(CHINESE):
        async with pool.acquire() as connection, connection.transaction():
            await notifications.enqueue(connection, CaseProjection(summary=summary, events=view.timeline))
    told = {n.recipient: n.payload for n in await outbox(pool, case_id)}
    assert told["PM-LVYUAN"]["text"] == (
        f"New case {case_id} (Noise nuisance, Sunshine): the compound's three-party council takes it first"
    )
    assert told["PM-LVYUAN"]["language"] == "en"
    assert told[f"resident:{case_id}"]["text"].startswith(f"Your report of Noise nuisance is received ({case_id})")
