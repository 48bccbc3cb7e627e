"""The staff console (branch console builds its blueprint here)."""
