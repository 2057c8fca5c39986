"""Pydantic models that cross process boundaries: job inputs and results, stream events."""
