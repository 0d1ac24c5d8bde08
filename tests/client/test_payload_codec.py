"""Payload encryption: the cipher itself, and a real case on the real dev server whose history holds no
readable personal data, keeps running across a key rotation, and whose older plain histories still replay."""

import base64
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from client import cases, temporal
from client.payload_codec import (
    ENCODING,
    KEY_ID,
    PayloadCipher,
    PayloadKey,
    PayloadKeyError,
    create_key_file,
    load_keys,
)
from client.settings import Settings
from schemas.case import Accept, Actor, CaseReport, CaseStart, Reporter
from workers.worker import WORKFLOWS, build_worker
from workflows.case import CaseWorkflow

NAME = "欧阳秘书"
PHONE = "13955501234"
HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"
KEY_A = PayloadKey.generate("key-a")
KEY_B = PayloadKey.generate("key-b")
# Left plain on purpose: the server indexes search attributes, and the request id header is no secret.
_UNSEALED_FIELDS = {"search_attributes", "header"}


def payloads_in(message: Message, unsealed: bool = False) -> Iterator[tuple[Payload, bool]]:
    """Every payload in a protobuf message, each with whether it sits where the codec does not apply."""
    if isinstance(message, Payload):
        yield message, unsealed
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif isinstance(value, Message):
            values = [value]
        else:
            values = list(value)
        for item in values:
            if isinstance(item, Message):
                yield from payloads_in(item, unsealed or field.name in _UNSEALED_FIELDS)


def is_patch_marker(event: HistoryEvent) -> bool:
    return event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and (
        event.marker_recorded_event_attributes.marker_name == "core_patch"
    )


def started_input(history: WorkflowHistory) -> list[Payload]:
    return list(history.events[0].workflow_execution_started_event_attributes.input.payloads)


def settings(dev_env, *keys: PayloadKey) -> Settings:
    return Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        payload_keys=",".join(key.entry() for key in keys),
    )


# The cipher on its own


async def test_a_payload_is_sealed_with_the_first_key_and_opens_with_any_key_of_the_ring():
    plain = Payload(metadata={"encoding": b"json/plain"}, data=f'{{"phone": "{PHONE}"}}'.encode())
    [sealed] = await PayloadCipher([KEY_A]).encode([plain])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"key-a"
    assert PHONE.encode() not in sealed.SerializeToString() and b"json/plain" not in sealed.SerializeToString()
    rotated = PayloadCipher([KEY_B, KEY_A])
    assert await rotated.decode([sealed]) == [plain]
    [resealed] = await rotated.encode([plain])
    assert resealed.metadata[KEY_ID] == b"key-b"
    assert (await PayloadCipher([KEY_A]).encode([plain]))[0].data != sealed.data  # a fresh nonce each time


async def test_plain_payloads_pass_through_so_older_histories_stay_readable():
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"recorded before encryption"')
    assert await PayloadCipher([KEY_A]).decode([plain]) == [plain]


async def test_a_payload_no_key_opens_is_an_error_naming_the_key():
    [sealed] = await PayloadCipher([KEY_A]).encode([Payload(data=b"x")])
    with pytest.raises(PayloadKeyError, match="'key-a', which is not in the key ring"):
        await PayloadCipher([KEY_B]).decode([sealed])
    impostor = PayloadKey("key-a", KEY_B.secret)
    with pytest.raises(PayloadKeyError, match="does not open with key 'key-a'"):
        await PayloadCipher([impostor]).decode([sealed])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadKeyError, match="does not open"):
        await PayloadCipher([KEY_A]).decode([tampered])


def test_the_key_ring_reads_the_environment_first_then_the_file(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated 2026-11\n{KEY_B.entry()}\n\n{KEY_A.entry()}\n")
    other = PayloadKey.generate("env-key")
    assert [key.key_id for key in load_keys(f" {other.entry()} ,", key_file)] == ["env-key", "key-b", "key-a"]
    assert load_keys(None, None) == []


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ("no-colon", "a key is `<id>:<base64"),
        ("bad id!:" + base64.b64encode(bytes(32)).decode(), "a key is `<id>:<base64"),
        ("k:not base64!", "key 'k' is not valid base64"),
        ("k:" + base64.b64encode(bytes(16)).decode(), "key 'k' has 16 bytes; AES-256 needs 32"),
        (f"{KEY_A.entry()},key-a:{base64.b64encode(bytes(32)).decode()}", "two different keys have the id 'key-a'"),
    ],
)
def test_a_bad_key_is_refused_with_what_is_wrong(entries, error):
    with pytest.raises(PayloadKeyError, match=error) as refused:
        load_keys(entries, None)
    assert base64.b64encode(bytes(32)).decode() not in str(refused.value)  # never the secret


def test_a_bad_key_stops_the_process_with_one_line(tmp_path):
    with pytest.raises(SystemExit, match="payload encryption: WHISTLE_PAYLOAD_KEY_FILE .* holds no key"):
        (tmp_path / "empty").write_text("# nothing yet\n")
        temporal.data_converter(Settings(payload_key_file=tmp_path / "empty"))
    assert temporal.data_converter(Settings()).payload_codec is None  # no key: plain, as before


def test_a_new_key_file_is_the_owners_alone_and_never_overwritten(tmp_path):
    path = tmp_path / "payload-keys"
    key = create_key_file(path, "dev-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys(None, path) == [key]
    with pytest.raises(FileExistsError):
        create_key_file(path, "dev-2")


# A real case on the real dev server


async def _report(client: Client, pool, task_queue: str, category: str) -> str:
    """A new case (each test its own category: a second report of an open issue would follow the first case)."""
    report = CaseReport(
        compound="HP-DF-QH-1",
        category=category,
        description="karaoke every night",
        reporter=Reporter(name=NAME, phone=PHONE),
        external_id=f"codec-{uuid.uuid4()}",
    )
    reported = await cases.report_case(client, pool, report, task_queue=task_queue)
    await cases.wait_until_open(client, reported.case_id)
    return reported.case_id


async def test_a_case_history_holds_no_readable_personal_data(dev_env, pool, task_queue):
    sealed = await temporal.connect(settings(dev_env, KEY_A))
    async with build_worker(sealed, pool, task_queue):
        case_id = await _report(sealed, pool, task_queue, "NOISE")
        handle = cases.case_handle(sealed, case_id)
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="PM-LVYUAN", person="张经理")))

    raw = await dev_env.client.get_workflow_handle(handle.id).fetch_history()  # a client without the key
    dump = b"".join(event.SerializeToString() for event in raw.events)
    assert PHONE.encode() not in dump and NAME.encode() not in dump and "张经理".encode() not in dump
    # a patch marker's payloads are the SDK's own (the patch id), written past the codec; no personal data (above)
    found = [pair for event in raw.events if not is_patch_marker(event) for pair in payloads_in(event)]
    assert len(found) > 5
    assert all(payload.metadata["encoding"] == ENCODING for payload, unsealed in found if not unsealed)

    [start] = await sealed.data_converter.decode(started_input(await handle.fetch_history()), [CaseStart])
    assert (start.report.reporter.name, start.report.reporter.phone) == (NAME, PHONE)


async def test_a_case_started_under_one_key_runs_on_after_the_worker_rotates(dev_env, pool, task_queue):
    before = await temporal.connect(settings(dev_env, KEY_A))
    async with build_worker(before, pool, task_queue):
        case_id = await _report(before, pool, task_queue, "CORRIDOR_CLUTTER")

    rotated = await temporal.connect(settings(dev_env, KEY_B, KEY_A))
    async with build_worker(rotated, pool, task_queue):  # a new worker: replays the case from its history
        view = await cases.case_handle(rotated, case_id).execute_update(
            CaseWorkflow.accept, Accept(actor=Actor(org="PM-LVYUAN"))
        )
    assert view.stages[-1].accepted_at is not None

    history = await cases.case_handle(rotated, case_id).fetch_history()
    raw = await dev_env.client.get_workflow_handle(cases.workflow_id(case_id)).fetch_history()
    key_ids = {}
    for event in raw.events:
        for payload, unsealed in payloads_in(event):
            if not unsealed:
                key_ids.setdefault(EventType.Name(event.event_type), set()).add(payload.metadata[KEY_ID].decode())
    assert key_ids["EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"] == {"key-a"}
    assert key_ids["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"] == {"key-b"}
    assert key_ids["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"] == {"key-b"}
    await Replayer(workflows=WORKFLOWS, data_converter=rotated.data_converter).replay_workflow(history)

    without_old_key = await temporal.connect(settings(dev_env, KEY_B))
    with pytest.raises(PayloadKeyError, match="'key-a', which is not in the key ring"):
        await without_old_key.data_converter.decode(started_input(raw))


@pytest.mark.parametrize("recorded", sorted(path.stem for path in HISTORIES.glob("case-recorded*.json")))
async def test_plain_histories_recorded_before_encryption_replay_with_the_codec(recorded):
    history = WorkflowHistory.from_json(recorded, (HISTORIES / f"{recorded}.json").read_text())
    converter = temporal.data_converter(Settings(payload_keys=KEY_A.entry()))
    assert isinstance(converter.payload_codec, PayloadCipher)
    await Replayer(workflows=WORKFLOWS, data_converter=converter).replay_workflow(history, raise_on_replay_failure=True)
