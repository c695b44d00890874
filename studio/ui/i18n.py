"""Labels in English and French through gradio's i18n.

Each tab module holds its own `TEXTS = {key: (english, french)}` and labels its
components with `t(key)`; `translations(...)` merges the tables for `launch`.
The browser's language picks the table; gradio's settings panel switches it.
Keys use underscores only (dots would read as nesting in the frontend).
"""

from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData


def t(key: str) -> I18nData:
    return I18nData(key)


def translations(*tables: dict[str, tuple[str, str]]) -> gr.I18n:
    english: dict[str, str] = {}
    french: dict[str, str] = {}
    for table in tables:
        for key, (en, fr) in table.items():
            if key in english and english[key] != en:
                raise ValueError(f"label key {key!r} is defined twice with different texts")
            english[key], french[key] = en, fr
    return gr.I18n(en=english, fr=french)
