"""The agent's widget inside the novomind desk: signed context, roles and the pages that render it."""
