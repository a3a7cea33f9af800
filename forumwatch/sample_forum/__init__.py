"""A local, Discourse-shaped forum on loopback: the demo forum and the tests' forum."""
