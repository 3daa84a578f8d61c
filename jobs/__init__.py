"""Scheduled jobs and the worker that runs them (filled in by the delay-alerts issue)."""
