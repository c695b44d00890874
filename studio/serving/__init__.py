"""Serving the studio: the web server, its device queue and its OpenAI-compatible REST API."""
