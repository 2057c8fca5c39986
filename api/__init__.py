"""The HTTP/WebSocket API process: validates, stores, enqueues, and relays job events."""
