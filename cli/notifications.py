"""`whistle notifications …`: the outbox (what was sent, what is failing) and webhook subscriptions."""

from typing import Annotated

import typer
from rich.table import Table

from activities import notifications, webhooks
from cli.cases import _time, console, run
from cli.stack import Stack

app = typer.Typer(help="Notification outbox and webhook subscriptions.", no_args_is_help=True)


@app.command("list")
def list_notifications(
    case_id: Annotated[str | None, typer.Option("--case", help="only this case's notifications")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="only undelivered ones whose last attempt failed")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, newest first")] = 50,
) -> None:
    """Notifications newest first: recipient, topic, delivery state, attempts and the last error."""

    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            entries = await notifications.outbox(connection, case_id=case_id, failed=failed, limit=limit)
        table = Table("id", "topic", "state", "attempts", "when", "last error", title="notifications")
        for entry in entries:
            if entry.delivered_at is not None:
                state, when = f"delivered ({entry.channel})", entry.delivered_at
            else:
                state, when = ("failing" if entry.last_error else "pending"), entry.next_attempt_at
            table.add_row(entry.id, entry.topic, state, str(entry.attempts), _time(when), entry.last_error or "")
        console.print(table)

    run(command)


@app.command()
def subscribe(
    org: Annotated[str, typer.Option(help="organisation code, 'resident' for residents' notifications, or '*'")],
    url: Annotated[str, typer.Option(help="the receiver's URL (POST)")],
    secret: Annotated[str, typer.Option(help="shared secret for the HMAC-SHA256 signature (16+ characters)")],
) -> None:
    """Send an organisation's notifications to a signed webhook (replaces its previous subscription)."""

    async def command(stack: Stack) -> None:
        subscription = webhooks.Subscription(org=org, url=url, secret=secret)
        async with stack.pool.acquire() as connection:
            await webhooks.subscribe(connection, subscription)
        console.print(f"{org} → {subscription.url}")

    run(command)


@app.command()
def unsubscribe(org: Annotated[str, typer.Option(help="organisation code, 'resident' or '*'")]) -> None:
    """Stop an organisation's webhook; its notifications go to the '*' subscription or the log."""

    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            if not await webhooks.unsubscribe(connection, org):
                raise ValueError(f"{org} has no webhook subscription")
        console.print(f"{org} unsubscribed")

    run(command)
