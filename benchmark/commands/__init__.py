"""The ``sedbench`` commands: each command's parser next to its command (``add_NAME`` builds
the subparser, ``run_NAME`` runs it and returns the exit code)."""
