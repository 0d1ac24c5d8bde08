"""The client layer every front end shares: cases over Temporal, intake, settings, connections."""
