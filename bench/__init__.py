"""`whistle bench`: Whistle measured side by side with the bare Temporal floor, in one run on one machine."""
