"""HTTP layer: thin controllers, the access guard, problem+json mapping, request logging."""
