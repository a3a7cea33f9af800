"""`python -m forumwatch` is the `forumwatch` command."""

from forumwatch.cli.group import main

main()
