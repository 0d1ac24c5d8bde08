"""`whistle`: the command line for operators, handlers and developers."""

import typer

from workers import case_cli

app = typer.Typer(help="Whistle: durable whistle-and-report escalation of neighbourhood issues.",
                  no_args_is_help=True)
app.add_typer(case_cli.app, name="case")
