"""The pages and the provider routes: the web chat, channel webhooks, the operator console, the governance pages,
Slack interactivity, and staff sign-in (staff_auth.py) for all staff pages."""
