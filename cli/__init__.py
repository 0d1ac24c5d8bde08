"""`whistle`: the command line for operators, handlers and developers (top floor: nothing imports it).

The language is chosen as the package loads, before any command module: Typer reads the help texts of
commands and options at import."""

from cli.language import cli_language
from i18n.language import set_language

set_language(cli_language())
