"""What an organisation may do on a case (or its department task) now: the `actions` queries' answer, from
the same rules the update validators apply."""

from enum import StrEnum


class ActionKind(StrEnum):
    ACCEPT = "ACCEPT"
    ARRIVE = "ARRIVE"
    NOTE = "NOTE"
    PLAN = "PLAN"
    RESOLVE = "RESOLVE"
    SIGNOFF = "SIGNOFF"
    WHISTLE = "WHISTLE"
    REQUEST_EXTENSION = "REQUEST_EXTENSION"
    DECIDE_EXTENSION = "DECIDE_EXTENSION"
    REQUEST_PAUSE = "REQUEST_PAUSE"
    DECIDE_PAUSE = "DECIDE_PAUSE"
    RESUME = "RESUME"
    SUPERVISE = "SUPERVISE"
    DISPATCH = "DISPATCH"
    REROUTE = "REROUTE"
    CONCLUDE = "CONCLUDE"
    COMPLETE = "COMPLETE"  # a department's task
    RETURN = "RETURN"  # a department's task (退单)
