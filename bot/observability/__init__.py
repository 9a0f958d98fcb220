"""Logs, metrics and health endpoints for operators. Kept light: the container probe imports it."""
