"""The operations of the `Studio`, one module per task group (image, text, audio)."""
