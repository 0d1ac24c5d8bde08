"""`whistle chaos`: the fault suite (issue 20): its own stack, cases on every path, faults, invariants."""
