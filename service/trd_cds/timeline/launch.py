"""The links a response's cards carry to the timeline page, each with a fresh launch handle."""

from __future__ import annotations

from trd_cds.cards.links import TimelineLaunch

from .handle import LaunchHandles

PAGE_PATH = "/timeline/"
SMART_LAUNCH_PATH = "/timeline/launch.html"
DATA_PATH = "/timeline/assessment"


class TimelineLinker:
    def __init__(self, handles: LaunchHandles, *, smart_client_id: str | None = None) -> None:
        self.handles = handles
        self.smart_client_id = smart_client_id

    def launch(self, cache_key: str, base_url: str, *, smart: bool) -> TimelineLaunch:
        """Links under `base_url` (the service's public address). `smart`: the caller is an EHR
        that can launch a SMART app (a CDS Hooks call, not /evaluate)."""
        base = base_url.rstrip("/")
        return TimelineLaunch(
            page_url=base + PAGE_PATH,
            handle=self.handles.mint(cache_key),
            smart_launch_url=base + SMART_LAUNCH_PATH if smart and self.smart_client_id else None,
        )
