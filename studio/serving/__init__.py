"""The studio's doors besides Python: the `studio` command, the batch runner, the web server."""
