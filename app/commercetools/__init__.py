"""commercetools adapter: OAuth client credentials, retries, fixed query templates, wire models.

Knows nothing of views, the lookup service or HTTP handlers.
"""
