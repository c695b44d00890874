"""MCP tools: gradio's MCP server over the UI's endpoints, described by the `Studio` operations' docstrings.

On by default at `/gradio_api/mcp/` (`--no-mcp` turns it off). Off on a server
with a login: gradio's MCP routes do not ask for it. Off, with a line in the
log, where the `mcp` package is not installed.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging

log = logging.getLogger("studio.serve")



def wanted(requested: bool, login: bool) -> bool:
    """Whether to serve MCP tools; says why not when asked for and refused."""
    if not requested:
        return False
    if login:
        print("* MCP tools are off: gradio's MCP server would not ask for the login (set no STUDIO_USERNAME to use them)")
        return False
    if importlib.util.find_spec("mcp") is None:
        print("* MCP tools are off: the `mcp` package is not installed (pip install 'mcp>=1.21,<2')")
        return False
    return True


def describe_tools(app, studio_class) -> int:
    """Each endpoint's tool description from its operation's docstring; returns how many were described."""
    from studio.operations import TABLE

    described = 0
    for fn in app.fns.values():
        # An endpoint's operations (audio_to_audio serves two), or the Studio method of its name.
        names = [op.name for op in TABLE if op.api_name == fn.api_name] or [fn.api_name]
        docs = [inspect.getdoc(getattr(studio_class, name, None)) for name in names if name and hasattr(studio_class, name)]
        if docs and all(docs):
            fn.api_description = "\n\n".join(docs)
            described += 1
    return described
