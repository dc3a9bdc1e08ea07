"""Status pusher core: delivery decoding, status changes and the ordering rule (pure, no I/O)."""
