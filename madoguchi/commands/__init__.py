"""Each area's `madoguchi` subcommands: users (operator accounts), governance (explain, retention, export),
channels (status, queues, a standalone worker)."""
