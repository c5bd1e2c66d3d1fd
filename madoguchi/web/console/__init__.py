"""The operator console: the queue, one conversation, replies and hand-backs, the supervisor view."""
