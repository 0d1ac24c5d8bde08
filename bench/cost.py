"""Figure 5, from Temporal's side: history events and bytes a case costs, its department tasks included."""

import asyncio

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from bench.results import PathCost

_SAMPLE_CONCURRENCY = 8


def payload_bytes(message: Message) -> int:
    """Bytes of every Payload's data anywhere inside a protobuf message."""
    if isinstance(message, Payload):
        return len(message.data)
    total = 0
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                continue
            children = list(value.values())
        elif field.is_repeated:
            children = list(value)
        else:
            children = [value]
        total += sum(payload_bytes(child) for child in children)
    return total


async def path_cost(client: Client, cases: list[list[str]]) -> PathCost:
    """`cases`: for each sampled case, the workflow ids that make it up (the case and its department tasks)."""
    gate = asyncio.Semaphore(_SAMPLE_CONCURRENCY)

    async def history(workflow_id: str) -> tuple[int, int, int]:
        async with gate:
            events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        return len(events), sum(e.ByteSize() for e in events), sum(payload_bytes(e) for e in events)

    per_workflow = await asyncio.gather(*(history(wid) for ids in cases for wid in ids))
    sampled = len(cases) or 1
    return PathCost(
        sampled=len(cases),
        workflows=round(len(per_workflow) / sampled, 2),
        history_events=round(sum(h[0] for h in per_workflow) / sampled, 1),
        history_bytes=round(sum(h[1] for h in per_workflow) / sampled),
        payload_bytes=round(sum(h[2] for h in per_workflow) / sampled),
    )
