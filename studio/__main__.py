"""`python -m studio ...`: the same as the `studio` command."""

from studio.serving.cli import main

main()
