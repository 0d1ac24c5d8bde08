"""OpenAPI links: where an id in one answer leads. They change no behaviour; they tell a client (and
schemathesis' stateful tests, tests/api/test_schemathesis.py) which operations take the case a report
answered with: a report leads to the case's views, each view to its actions (which lead nowhere: schemathesis
starts its scenarios from operations that link on, and an action started on a random case id gets nowhere).

An operation is named "METHOD /full/path"; links point to it by `operationRef` (a JSON pointer into the
document), which stays right as long as the path does.
"""

import re

from fastapi import APIRouter
from fastapi.routing import APIRoute

CASE_ID = "$response.body#/case_id"
TASK_CASE_ID = "$response.body#/task/case_id"  # a department's view of its task: {task, case}
FIRST_REQUEST_ID = "$response.body#/0/service_request_id"  # Open311 answers a list of one


def _reference(operation: str) -> str:
    method, path = operation.split(" ", 1)
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()


def _name(operation: str) -> str:
    """The link's name: PostCasesCaseIdWithdraw for "POST /v1/cases/{case_id}/withdraw" ([A-Za-z0-9._-]+)."""
    words = re.split(r"[^A-Za-z0-9]+", operation.replace(" /v1/", " "))
    return "".join(word.title() for word in words)


def to(*operations: str, parameter: str = "case_id", value: str = CASE_ID) -> dict:
    """A response's `links` to `operations`, each taking `parameter` from the answer (`value`)."""
    return {
        "links": {
            _name(operation): {"operationRef": _reference(operation), "parameters": {parameter: value}}
            for operation in operations
        }
    }


def from_view(router: APIRouter, view_path: str, route: APIRoute, value: str = CASE_ID) -> None:
    """Link the router's view (GET `view_path`, declared before its actions) to one of its action routes."""
    view = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == view_path and "GET" in r.methods)
    answer = view.responses.get(200, {})
    more = to(*(f"{method} {route.path}" for method in route.methods), value=value)["links"]
    view.responses = {**view.responses, 200: {**answer, "links": {**answer.get("links", {}), **more}}}
