"""The start screen narrows the protocol list to the composites suggested for the chosen
presenting symptoms (the real app, the real library and data/symptoms.yaml)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import OptionList, Static

from engine.catalog import list_protocols, load_symptoms
from tests.tui.helpers import screen_of, wait_for
from tui.app import EdxApp
from tui.screens.start import StartScreen


def ids(listing: OptionList) -> list[str]:
    return [str(listing.get_option_at_index(i).id) for i in range(listing.option_count)]


def test_symptoms_filter_the_protocol_list_and_say_why(tmp_path: Path) -> None:
    everything = [p.id for p in list_protocols()]
    order = [s.id for s in load_symptoms()]

    async def scenario() -> None:
        app = EdxApp(tmp_path / "runs.sqlite")
        async with app.run_test(size=(100, 34)) as pilot:
            start = await screen_of(pilot, StartScreen)
            protocols = start.query_one("#protocols", OptionList)
            await wait_for(pilot, lambda: protocols.option_count, what="protocols")
            assert ids(protocols) == everything
            symptoms = start.query_one("#symptoms", OptionList)
            assert not symptoms.display
            await pilot.press("s")
            await wait_for(pilot, lambda: symptoms.display and symptoms.option_count,
                           what="symptom list")
            assert app.focused is symptoms

            async def toggle(symptom: str) -> None:
                symptoms.focus()
                symptoms.highlighted = order.index(symptom)
                await pilot.press("enter")
                await pilot.pause()

            await toggle("numb-feet")
            assert ids(protocols) == ["polyneuropathy-screen", "lumbosacral-radiculopathy-workup"]
            await toggle("weakness")
            await toggle("gait-trouble")
            shown = ids(protocols)
            assert shown[0] == "polyneuropathy-screen" and "nmj-workup" in shown
            assert "median-motor" not in shown
            first = str(protocols.get_option_at_index(0).prompt)
            assert "for numb feet, weakness, gait trouble" in first
            assert start.selected_protocol is not None
            assert start.selected_protocol.id == "polyneuropathy-screen"
            protocols.focus()
            protocols.highlighted = 1
            await pilot.pause()
            why = str(start.query_one("#start-message", Static).render())
            assert shown[1] == "lumbosacral-radiculopathy-workup" and "Numb feet:" in why
            await toggle("weakness")  # toggling again drops it
            assert "nmj-workup" not in ids(protocols)
            await pilot.press("x")
            await pilot.pause()
            assert ids(protocols) == everything and not symptoms.display

    asyncio.run(scenario())
