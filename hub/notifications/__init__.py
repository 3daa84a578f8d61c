"""Notifications: the transactional outbox that services write to, and what each change causes."""
