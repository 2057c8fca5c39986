"""SQL lives here. Repositories take a session and never commit: the caller owns the transaction."""
