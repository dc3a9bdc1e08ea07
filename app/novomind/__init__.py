"""novomind iAGENT adapter: the REST client the status pusher writes tickets through.

See :mod:`app.novomind.client`. What the REST API looks like (and which parts are documented at
all) is in ``docs/outside-systems.md``; the built-in fake is ``app.sandbox.novomind``.
"""

from app.novomind.client import NovomindClient, NovomindReply, NovomindWrite

__all__ = ["NovomindClient", "NovomindReply", "NovomindWrite"]
