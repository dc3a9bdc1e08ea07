"""Security headers of every widget response: who may frame it, and nothing loaded from elsewhere."""

from __future__ import annotations

__all__ = ["frame_headers"]


def frame_headers(frame_ancestors: str) -> dict[str, str]:
    """Headers for a page novomind frames. ``frame_ancestors`` is the validated settings value.

    No inline script and no third-party origin at all: the page's own static files are the only
    code that runs, so a value that slipped through escaping still cannot execute.
    """
    ancestors = " ".join(frame_ancestors.split()) or "'none'"
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        # Signed links and personal data must not sit in a shared cache or the back/forward cache.
        "Cache-Control": "no-store",
    }
