"""The studio's doors besides Python: the `studio` command, the batch runner, the web server with its
device queue, its OpenAI-compatible REST API and its MCP tools."""
