"""`python -m ui`: start the web chat."""

from .app import main

main()
