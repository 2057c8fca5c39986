"""What the routes call: job submission, cancel, lookups. Services never commit."""
