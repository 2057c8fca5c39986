"""Stand-ins for what cannot run here: the LLM providers' HTTP endpoints, at the wire."""
