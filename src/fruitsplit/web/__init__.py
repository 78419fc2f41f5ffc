"""HTTP entry points: forms, cookies, CSRF, escaping and status codes live here."""
