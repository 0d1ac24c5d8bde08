"""The worker process and what only it runs: the worker, its schedules, the notification delivery loop."""
