"""One forum-watching cycle and its parts: poll, save, judge, record, tell, deliver."""
