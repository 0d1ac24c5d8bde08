"""What an organisation may do on a case (or its department task) now: the `actions` queries' answer, from
the same rules the update validators apply."""

from enum import StrEnum

from schemas.keys import Right


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


# The right a person's (or a key's) role must hold for each action: the JSON API's action routes take their caller
# from it (api.auth.acting) and the pages offer an action only when the role holds its right and the workflow's
# rules allow it now.
CASE_RIGHTS: dict[ActionKind, Right] = {
    **dict.fromkeys(
        (
            ActionKind.ACCEPT,
            ActionKind.ARRIVE,
            ActionKind.NOTE,
            ActionKind.PLAN,
            ActionKind.RESOLVE,
            ActionKind.WHISTLE,
            ActionKind.REQUEST_EXTENSION,
            ActionKind.DECIDE_EXTENSION,
            ActionKind.REQUEST_PAUSE,
            ActionKind.DECIDE_PAUSE,
            ActionKind.RESUME,
        ),
        Right.HANDLE,
    ),
    ActionKind.SIGNOFF: Right.SIGNOFF,
    ActionKind.DISPATCH: Right.DISPATCH,
    ActionKind.REROUTE: Right.REROUTE,
    ActionKind.CONCLUDE: Right.REROUTE,
    ActionKind.SUPERVISE: Right.SUPERVISE,
}
TASK_RIGHTS: dict[ActionKind, Right] = {
    **dict.fromkeys(
        (
            ActionKind.ACCEPT,
            ActionKind.NOTE,
            ActionKind.COMPLETE,
            ActionKind.RETURN,
            ActionKind.REQUEST_EXTENSION,
            ActionKind.REQUEST_PAUSE,
            ActionKind.RESUME,
        ),
        Right.TASKS,
    ),
    ActionKind.DECIDE_EXTENSION: Right.SUPERVISE,
    ActionKind.DECIDE_PAUSE: Right.SUPERVISE,
}
