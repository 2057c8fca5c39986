"""The worker process: job handlers, LLM providers and the code sandbox."""
