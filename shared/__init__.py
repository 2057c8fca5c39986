"""The contract that `api` and `worker` both speak: settings, models, schemas, bus, queue."""
