"""Integrations: Slack and e-mail delivery (filled in by the Slack and notifications issues)."""
