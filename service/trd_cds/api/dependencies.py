"""What the routes ask of every request, as FastAPI dependencies: the services of the
lifespan, and a JSON body that is of a JSON media type, within the size limit, and in time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .body import check_json_content_type, read_body
from .state import Services, services

State = Annotated[Services, Depends(services)]


async def json_body(request: Request, state: State) -> bytes:
    check_json_content_type(request)
    return await read_body(
        request, state.limits.max_bytes, timeout=state.settings.body_read_timeout_seconds
    )


JsonBody = Annotated[bytes, Depends(json_body)]
