"""Test support: real processes (API, workers, beat) and clients that read what a user reads."""
