"""The command line: the `forumwatch` group (group.py), what its commands share (common.py)
and its families of commands: cycles (cycle.py), reading the store (reading.py), the admin's
(admin.py)."""
