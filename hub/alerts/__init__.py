"""Delay alerts and daily digests: no return sits unnoticed in any team's stage (the scan, the digests)."""
