"""Runs and batches as the web app, the CLI and the RQ worker start them; no Flask here."""
