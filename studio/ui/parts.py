"""What a tab hands back to the app: its id and its named components.

`inputs` maps the operation's Python keywords to their components (history
restores a recipe into them); `outputs` names the results other tabs can take
("send to"). Keeping the wiring between tabs in one place (`send_to`, `history`)
lets each tab module stay about its own tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TabParts:
    id: str  # the gr.Tab id, to switch to it
    tasks: tuple  # the recipe tasks it restores ("text_to_image", ...)
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
