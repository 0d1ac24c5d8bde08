"""All I/O the workflows need: PostgreSQL read model and registry, notifications, look-ups."""
