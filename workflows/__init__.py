"""Deterministic workflow code only: no I/O, clocks or randomness."""
