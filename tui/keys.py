"""Every key action of a screen, for the help screen and the command palette alike.

Both are built from the live bindings of the screen, the app and the focused widget, so
a new binding appears in the help and in the palette without anyone adding it twice.
Actions a screen disables for now (a marker key with no marker selected) are listed too,
marked not enabled, so the help shows every key the screen has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KeyAction:
    keys: str  # "l / f2"
    description: str
    action: str
    node: Any  # the DOM node whose binding this is (screen, widget or app)
    enabled: bool


def key_actions(app: Any, screen: Any) -> list[KeyAction]:
    """Described actions, one per (node, action) with its keys joined: the screen's own
    first, then the app's, then the focused widget's (table and list navigation)."""
    # Textual's binding chain (pinned Textual): focused widget → … → screen → app.
    chain = list(screen._modal_binding_chain)
    order = sorted(range(len(chain)), key=lambda i: (chain[i][0] is not screen,
                                                      chain[i][0] is not app, i))
    found: dict[tuple[int, str], KeyAction] = {}
    for i in order:
        node, bindings = chain[i]
        own = {getattr(b, "action", None) for b in type(node).__dict__.get("BINDINGS", ())}
        # the node's own keys before those it inherits (Screen's focus and copy keys)
        for _key, binding in sorted(bindings, key=lambda kb: kb[1].action not in own):
            if not binding.description:
                continue
            where = (id(node), binding.action)
            display = app.get_key_display(binding)
            known = found.get(where)
            if known is None:
                state = app._check_action_state(binding.action, node)
                found[where] = KeyAction(display, binding.description, binding.action, node,
                                         state is True)
            elif display not in known.keys.split(" / "):
                found[where] = KeyAction(f"{known.keys} / {display}", known.description,
                                         known.action, known.node, known.enabled)
    return list(found.values())
