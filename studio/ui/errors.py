"""The one place where errors become what the user sees.

A `ValueError` (bad input) or a `UserFacingError` (model unavailable, out of
memory, outputs folder unwritable) is shown as is, through `gr.Error`. Anything
else is a bug: logged with its traceback on the server, shown as one line, and
the app keeps serving.
"""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from studio.errors import UserFacingError

log = logging.getLogger("studio.ui")
USER_ERRORS = (ValueError, UserFacingError)


def _translate(error: Exception) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, USER_ERRORS):
        return gr.Error(str(error), print_exception=False)
    log.exception("unexpected error in the UI")
    return gr.Error(f"unexpected error ({type(error).__name__}: {str(error)[:200]}); details are in the server log", print_exception=False)


def guard(fn):
    """Wrap an event handler (function or generator) so errors reach the user as `gr.Error`."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise _translate(error) from error

        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _translate(error) from error

    return function
