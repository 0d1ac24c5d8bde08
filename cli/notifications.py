"""`whistle notifications …`: the outbox (what was sent, what is failing) and webhook subscriptions."""

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from activities import notifications, webhooks
from cli.cases import run
from cli.output import at, console, labelled, zoned
from cli.stack import Stack
from client.names import name_book
from i18n.language import N_, _
from i18n.names import RESIDENT, NameBook, name
from schemas.case import EventKind

app = typer.Typer(help=_("Notification outbox and webhook subscriptions."), no_args_is_help=True)

_TOPICS = {notifications.FEEDBACK_REQUESTED: N_("verdict requested (回访)")}
_CHANNELS = {"log": N_("log"), "webhook": N_("webhook")}


def _topic(topic: str) -> str:
    if topic in EventKind.__members__:
        return name(EventKind(topic))
    return _(_TOPICS[topic]) if topic in _TOPICS else topic


def _recipient(names: NameBook, recipient: str) -> str:
    return names(RESIDENT) if recipient.startswith(f"{notifications.RESIDENT}:") else labelled(names, recipient)


@app.command(
    "list", help=_("Notifications newest first: recipient, topic, delivery state, attempts and the last error.")
)
def list_notifications(
    case_id: Annotated[str | None, typer.Option("--case", help=_("only this case's notifications"))] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help=_("only undelivered ones whose last attempt failed"))
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help=_("at most this many, newest first"))] = 50,
) -> None:
    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            entries = await notifications.outbox(connection, case_id=case_id, failed=failed, limit=limit)
        names = await name_book(stack.pool)
        table = Table(
            _("id"),
            _("recipient"),
            _("topic"),
            _("state"),
            _("attempts"),
            zoned(_("when")),
            _("last error"),
            title=_("notifications"),
        )
        for entry in entries:
            if entry.delivered_at is not None:
                channel = _(_CHANNELS[entry.channel]) if entry.channel in _CHANNELS else entry.channel
                state, when = _("delivered (%(channel)s)") % {"channel": channel}, entry.delivered_at
            else:
                state, when = (_("failing") if entry.last_error else _("pending")), entry.next_attempt_at
            table.add_row(
                entry.id,
                _recipient(names, entry.recipient),
                _topic(entry.topic),
                state,
                str(entry.attempts),
                at(when),
                escape(entry.last_error or ""),
            )
        console.print(table)

    run(command)


@app.command(help=_("Send an organisation's notifications to a signed webhook (replaces its previous subscription)."))
def subscribe(
    org: Annotated[str, typer.Option(help=_("organisation code, 'resident' for residents' notifications, or '*'"))],
    url: Annotated[str, typer.Option(help=_("the receiver's URL (POST)"))],
    secret: Annotated[str, typer.Option(help=_("shared secret for the HMAC-SHA256 signature (16+ characters)"))],
) -> None:
    async def command(stack: Stack) -> None:
        subscription = webhooks.Subscription(org=org, url=url, secret=secret)
        async with stack.pool.acquire() as connection:
            await webhooks.subscribe(connection, subscription)
        console.print(f"{org} → {subscription.url}")

    run(command)


@app.command(help=_("Stop an organisation's webhook; its notifications go to the '*' subscription or the log."))
def unsubscribe(org: Annotated[str, typer.Option(help=_("organisation code, 'resident' or '*'"))]) -> None:
    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            if not await webhooks.unsubscribe(connection, org):
                raise ValueError(_("%(org)s has no webhook subscription") % {"org": org})
        console.print(_("%(org)s unsubscribed") % {"org": org})

    run(command)
