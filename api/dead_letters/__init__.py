"""Dead letters as admins read them: every refused message or frame with its reason, and the refusals per device,
so that a misconfigured terminal or meter is found in a minute rather than in SQL."""
