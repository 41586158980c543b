"""The privacy notice's commands: erasure, access, rectification, retention, archive."""
