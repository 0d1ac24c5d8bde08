"""FastAPI application: routers per audience, auth, Open311 adapter, supervisor dashboard."""
