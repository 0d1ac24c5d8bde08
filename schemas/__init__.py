"""Pydantic v2 models shared by workflows, activities, workers and the API. No I/O here."""
