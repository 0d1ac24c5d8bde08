"""`whistle case …`: report, show, act on and list cases by hand."""

import typer

app = typer.Typer(help="Report, inspect and act on cases.", no_args_is_help=True)
