"""`whistle`: the command line for operators, handlers and developers (top floor: nothing imports it)."""
