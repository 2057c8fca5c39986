"""The code sandbox: bubblewrap, rlimits, a wall clock, output caps (worker-sandbox only)."""
