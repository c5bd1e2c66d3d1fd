"""The ground floor: value types every floor shares (inbound and outbound messages, what a turn produced, the
answer policy, staff-curated answers, the one text normaliser). It imports nothing of the project."""
