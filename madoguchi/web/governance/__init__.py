"""The governance pages: the public transparency page, the insight dashboard and the review list for staff."""
