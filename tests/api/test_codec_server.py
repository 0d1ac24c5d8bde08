"""The codec server over a real stack: a dev server whose Web UI names the codec endpoint (as `whistle dev`
starts it), the API with a key ring and the UI's origin, a worker, PostgreSQL. A case reported over HTTP is
ciphertext in Temporal; a key with the PERSONAL_DATA right reads it through the codec, over the API, with the
`temporal` CLI and in the Temporal Web UI in Chromium; everyone else is refused."""

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import connect
from api import keys
from client import cases, temporal
from client.payload_codec import ENCODING, PayloadKey
from client.settings import Settings
from client.startup import listen
from devstack.binaries import temporal_cli
from devstack.services import ApiServer
from schemas.keys import Role
from tests.people import SignedUp, person, sign_in
from tests.resident.conftest import free_port
from tests.supervisors.conftest import CHROMIUM_ARGS, PAGE_MS, chromium  # noqa: F401 (a fixture)
from tests.waiting import HTTP_TIMEOUT, eventually
from workers.worker import build_worker
from workflows import search_attributes

NAME = "司马保密"
PHONE = "13766601234"
KEY = PayloadKey.generate("codec-test")


@dataclass
class Stack:
    api: str
    ui: str
    address: str
    case_id: str
    keys: dict[str, str]  # supervisor, street, revoked
    supervisor: SignedUp  # a person of the district centre

    @property
    def workflow_id(self) -> str:
        return cases.workflow_id(self.case_id)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(database_url, pool) -> AsyncIterator[Stack]:
    listener = listen("127.0.0.1", 0, "API test")
    api = f"http://127.0.0.1:{listener.getsockname()[1]}"
    ui_port = free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        data_converter=pydantic_data_converter,
        search_attributes=search_attributes.ALL,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--log-level", "error", "--ui-codec-endpoint", f"{api}/dashboard/codec"],
    )
    connection = await connect(database_url)
    try:
        issued = {
            "supervisor": await keys.issue(connection, "HP-CENTRE", Role.SUPERVISOR),
            "street": await keys.issue(connection, "HP-DF", Role.STREET),
            "revoked": await keys.issue(connection, "HP-CENTRE", Role.SUPERVISOR),
        }
        await keys.revoke(connection, issued["revoked"].info.key_id)
    finally:
        await connection.close()
    task_queue = f"codec-{uuid.uuid4()}"
    settings = Settings(
        temporal_address=env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
        payload_keys=KEY.entry(),
        temporal_ui_origin=f"http://127.0.0.1:{ui_port}",
    )
    server = ApiServer(settings, listener)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with build_worker(await temporal.connect(settings), pool, task_queue):
            await eventually(lambda: server.started or serving.done(), what="uvicorn to serve")
            async with httpx.AsyncClient(base_url=api, timeout=30) as http:
                reported = await http.post(
                    "/v1/cases",
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                    json={
                        "compound": "HP-DF-QH-1",
                        "category": "NOISE",
                        "description": "a drum kit in the flat above",
                        "reporter": {"name": NAME, "phone": PHONE},
                    },
                )
            assert reported.status_code == 201, reported.text
            yield Stack(
                api=api,
                ui=settings.temporal_ui_origin,
                address=settings.temporal_address,
                case_id=reported.json()["case_id"],
                keys={name: key.key for name, key in issued.items()},
                supervisor=await person(database_url, "HP-CENTRE", Role.SUPERVISOR),
            )
    finally:
        server.should_exit = True
        await serving
        listener.close()
        await env.shutdown()


async def _started_input(stack: Stack) -> dict:
    """The case's workflow input as Temporal stores it, in the codec protocol's JSON."""
    plain = await Client.connect(stack.address)
    history = await plain.get_workflow_handle(stack.workflow_id).fetch_history()
    payloads = history.events[0].workflow_execution_started_event_attributes.input
    return json_format.MessageToDict(payloads)


def _texts(answer: dict) -> str:
    return " ".join(base64.b64decode(each.get("data", "")).decode("utf-8", "replace") for each in answer["payloads"])


async def test_a_key_with_the_personal_data_right_decodes_the_case_input(stack):
    stored = await _started_input(stack)
    assert NAME not in _texts(stored) and PHONE not in _texts(stored)
    assert base64.b64decode(stored["payloads"][0]["metadata"]["encoding"]) == ENCODING
    bearer = {"Authorization": f"Bearer {stack.keys['supervisor']}", "X-Namespace": "default"}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.api) as http:
        decoded = await http.post("/codec/decode?preserveStorageRefs=true", json=stored, headers=bearer)
        assert decoded.status_code == 200, decoded.text
        assert NAME in _texts(decoded.json()) and PHONE in _texts(decoded.json())
        from_the_dashboard = await http.post("/dashboard/codec/decode", json=stored, cookies=stack.supervisor.cookies)
        assert from_the_dashboard.json() == decoded.json()

        encoded = await http.post("/codec/encode", json=decoded.json(), headers=bearer)
        assert encoded.status_code == 200 and NAME not in _texts(encoded.json())
        again = await http.post("/codec/decode", json=encoded.json(), headers=bearer)
        assert again.json() == decoded.json()

        garbage = await http.post("/codec/decode", content=b"{not json", headers=bearer)
        assert garbage.status_code == 400 and "protobuf JSON" in garbage.json()["detail"]


@pytest.mark.parametrize(
    ("credentials", "status", "detail"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Bearer whk_not_a_key"}, 401, "unknown or revoked API key"),
        ("revoked", 401, "unknown or revoked API key"),
        ("street", 403, "lacks the PERSONAL_DATA right"),
    ],
)
async def test_everyone_else_is_refused(stack, credentials, status, detail):
    if isinstance(credentials, str):
        credentials = {"Authorization": f"Bearer {stack.keys[credentials]}"}
    stored = await _started_input(stack)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.api) as http:
        for operation in ("decode", "encode"):
            refused = await http.post(
                f"/codec/{operation}", json=stored, headers={**credentials, "Accept-Language": "en"}
            )
            assert refused.status_code == status and detail in refused.json()["detail"]
            assert NAME not in refused.text


async def test_only_the_temporal_ui_may_call_the_codec_across_origins(stack):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.api) as http:
        for path in ("/codec/decode", "/dashboard/codec/decode"):
            allowed = await http.options(path, headers={"Origin": stack.ui, **preflight})
            assert allowed.status_code == 200
            assert allowed.headers["access-control-allow-origin"] == stack.ui
            assert allowed.headers["access-control-allow-credentials"] == "true"
            other = await http.options(path, headers={"Origin": "http://127.0.0.1:1", **preflight})
            assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        elsewhere = await http.options("/v1/supervisor/cases", headers={"Origin": stack.ui, **preflight})
        assert "access-control-allow-origin" not in elsewhere.headers  # only the codec is opened to the UI


def _temporal_show(stack: Stack, *codec: str) -> subprocess.CompletedProcess:
    command = [str(temporal_cli()), "workflow", "show", "--address", stack.address, "-w", stack.workflow_id]
    return subprocess.run([*command, "--output", "json", *codec], capture_output=True, text=True, timeout=60)


def _shown(shown: subprocess.CompletedProcess) -> str:
    """Every payload of `temporal workflow show --output json`, its data as text."""

    def payloads(node) -> list[dict]:
        if isinstance(node, dict):
            found = [node] if {"metadata", "data"} <= node.keys() else []
            return found + [payload for value in node.values() for payload in payloads(value)]
        return [payload for value in node for payload in payloads(value)] if isinstance(node, list) else []

    return _texts({"payloads": payloads(json.loads(shown.stdout or "{}"))})


async def test_the_temporal_cli_reads_the_history_through_the_codec(stack):
    plain = await asyncio.to_thread(_temporal_show, stack)
    assert plain.returncode == 0 and stack.workflow_id in plain.stdout and NAME not in _shown(plain)
    codec = ["--codec-endpoint", f"{stack.api}/codec", "--codec-auth"]
    decoded = await asyncio.to_thread(_temporal_show, stack, *codec, f"Bearer {stack.keys['supervisor']}")
    assert decoded.returncode == 0, decoded.stderr
    assert NAME in _shown(decoded) and PHONE in _shown(decoded)
    street = await asyncio.to_thread(_temporal_show, stack, *codec, f"Bearer {stack.keys['street']}")
    assert NAME not in _shown(street)


async def test_the_temporal_web_ui_shows_the_input_to_a_signed_in_supervisor(stack, chromium, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright

    workflow_page = f"{stack.ui}/namespaces/default/workflows/{stack.workflow_id}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.set_default_timeout(PAGE_MS)

        # As `whistle dev` starts it: the UI asks the codec, without credentials, and is refused.
        async with page.expect_response(lambda r: r.url.startswith(f"{stack.api}/dashboard/codec/decode")) as asked:
            await page.goto(workflow_page)
        assert (await asked.value).status == 401
        await page.get_by_text(stack.workflow_id).first.wait_for()
        assert NAME not in await page.content()

        # A supervisor signs in to the dashboard, and sets the UI's codec server to include credentials
        # (what its "Codec Server" settings store in the browser).
        await sign_in(page, stack.api, stack.supervisor)
        await page.wait_for_url("**/dashboard/")
        await page.goto(stack.ui)
        settings = {"endpoint": f"{stack.api}/dashboard/codec", "includeCredentials": True}
        await page.evaluate(
            """settings => {
                for (const [key, value] of Object.entries(settings)) localStorage.setItem(key, JSON.stringify(value));
                localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
            }""",
            settings,
        )
        async with page.expect_response(lambda r: r.url.startswith(f"{stack.api}/dashboard/codec/decode")) as asked:
            await page.goto(workflow_page)
        assert (await asked.value).status == 200
        await page.get_by_text(NAME).first.wait_for()
        await page.screenshot(path=str(tmp_path / "temporal-ui-decoded.png"), full_page=True)
        await browser.close()
