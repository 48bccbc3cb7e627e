"""Shared test machinery as small objects: real servers (servers.py) and a
loopback SMTP sink (smtp.py)."""
