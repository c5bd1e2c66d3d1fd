"""Hand-over to human operators: the SQL-first queue (queue.py), the console and Slack alerts."""
from escalation.queue import Claim, EscalationQueue, StaleClaim, priority_for, require

__all__ = ["Claim", "EscalationQueue", "StaleClaim", "priority_for", "require"]
