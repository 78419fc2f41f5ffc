"""Use cases, written against the roles in `ports`, never against a technology."""
