"""The configuration: its shape (models.py), its kinds of value (values.py), how a file is read
(load.py, yaml_source.py) and how its secrets are kept out of every message (secrets.py)."""
