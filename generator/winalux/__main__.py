"""Allow `python -m winalux`."""

from winalux.cli import main

main()
