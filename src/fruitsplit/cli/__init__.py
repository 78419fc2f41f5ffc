"""Command-line entry points: `fruits` (subcommands) and `monolith` (the original's flags)."""
