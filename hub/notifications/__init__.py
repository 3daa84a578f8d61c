"""The generic transactional outbox: enqueue in the change's transaction, claim, retry; knows no feature."""
