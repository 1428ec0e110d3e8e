"""`python -m ui`: start the chat and the API (ui/server.py)."""

from .server import main

main()
