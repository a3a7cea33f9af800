"""What people read of the store: findings as a table, JSON or TSV and the credits ledger
(report.py), one topic's history (topic_history.py), what a selector profile extracts
(probe.py) and how fresh a forum's data is (freshness.py)."""
