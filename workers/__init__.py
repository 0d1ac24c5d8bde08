"""Worker process, Temporal client construction, the `whistle` CLI and the local dev stack."""
