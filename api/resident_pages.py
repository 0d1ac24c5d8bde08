"""The resident's pages (placeholder, built in the next steps)."""

from fastapi import APIRouter

PREFIX = "/resident"
REPORT = f"{PREFIX}/report"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
