"""Links from the cards to the trial timeline page (CDS Hooks 2.0 `links[]`).

A `smart` link launches the page as a SMART app in the EHR, its `appContext` carrying the
launch handle; an `absolute` link opens it in a browser with the handle in the URL fragment
(never sent to a server, so never in an access log). Labels are in ``content.toml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from . import content


@dataclass(frozen=True, slots=True)
class TimelineLaunch:
    """Where the page is and the handle that lets it read this assessment."""

    page_url: str
    handle: str
    # The SMART launch URL; None when no SMART client is registered or the caller is no EHR.
    smart_launch_url: str | None = None


def timeline_links(launch: TimelineLaunch | None) -> list[dict[str, Any]]:
    if launch is None:
        return []
    text = content.content()["links"]["timeline"]
    links: list[dict[str, Any]] = []
    if launch.smart_launch_url:
        links.append({"label": text["smart_label"], "url": launch.smart_launch_url,
                      "type": "smart",
                      "appContext": orjson.dumps({"launchHandle": launch.handle}).decode()})
    links.append({"label": text["absolute_label"], "url": f"{launch.page_url}#h={launch.handle}",
                  "type": "absolute"})
    return links


def with_links(card: dict[str, Any] | None,
               links: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The card with the links added after its own (None stays None)."""
    if card is None or not links:
        return card
    return {**card, "links": [*card.get("links", []), *links]}
