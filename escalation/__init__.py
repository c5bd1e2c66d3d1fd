"""Hand-over to human operators, as logic: the queue's rules (queue.py; its statements are storage/escalations.py),
office hours and SLA deadlines (hours.py), the SLA watcher (sla.py), Slack alerts (slack_alerts.py) and operator
accounts (accounts.py). The console's pages are the web shell's (madoguchi/web/console)."""
from escalation.queue import Claim, EscalationQueue, StaleClaim, priority_for, require

__all__ = ["Claim", "EscalationQueue", "StaleClaim", "priority_for", "require"]
