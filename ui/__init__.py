"""The Gradio web chat (see ui/app.py)."""
