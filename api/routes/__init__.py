"""HTTP and WebSocket routes: parse, authorize, call a service, return a schema."""
