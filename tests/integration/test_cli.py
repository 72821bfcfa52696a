"""`trd-cds evaluate` prints what /evaluate answers; `trd-cds cql` reaches the engine's tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from trd_cds.cards import build_cards
from trd_cds.cli import main
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"


async def test_evaluate_command_prints_the_evaluate_json(
    make_client: Any, capsysbinary: Any
) -> None:
    bundle = EXAMPLES / "classic-trd.json"
    # The command runs its own event loop, so call it from a worker thread.
    import asyncio

    code = await asyncio.to_thread(main, ["evaluate", str(bundle), "--as-of", "2025-06-01"])
    printed = orjson.loads(capsysbinary.readouterr().out)
    async with make_client(
        Settings(evaluation_timeout_seconds=60), rules=TrdRules.load(), card_builder=build_cards
    ) as client:
        response = await client.post(
            "/evaluate?asOf=2025-06-01",
            content=bundle.read_bytes(),
            headers={"content-type": "application/fhir+json"},
        )
    assert code == 0
    assert printed["assessment"] == response.json()["assessment"]
    assert [c["summary"] for c in printed["cards"]] == [
        c["summary"] for c in response.json()["cards"]
    ]


def test_evaluate_command_reports_bad_input_as_an_operation_outcome(
    tmp_path: Path, capsysbinary: Any
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
    code = main(["evaluate", str(bad)])
    printed = orjson.loads(capsysbinary.readouterr().out)
    assert code == 2
    assert printed["resourceType"] == "OperationOutcome"


def test_evaluate_command_refuses_a_bad_date() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "whatever.json", "--as-of", "June"])
    assert exit_info.value.code == 2


def test_cql_command_delegates_to_the_engine_tool(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cql", "--help"])
    assert exit_info.value.code == 0
    assert "conformance" in capsys.readouterr().out
