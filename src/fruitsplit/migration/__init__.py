"""Moving fruits between the stores: copy, verify and repair, and the outbox relay."""
