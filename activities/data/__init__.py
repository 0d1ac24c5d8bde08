"""Bundled registry data; a regular package so importlib.resources finds it under an editable install."""
