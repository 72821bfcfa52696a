"""Where the compiled CQL (``cql/elm``) and the value sets (``cql/valuesets``) are.

Looked up in this order, so that a checkout, an installed wheel and a container all work:
1. ``$TRD_CDS_CQL_DIR`` (a folder holding ``elm/`` and ``valuesets/``);
2. ``cql/`` packaged inside ``trd_cds`` (``trd_cds/cql``, when a build copies it there);
3. the ``cql/`` folder of the checkout this package was installed from in editable mode
   (``service/trd_cds/rules`` -> three levels up).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TRD_CDS_CQL_DIR"


def _usable(path: Path) -> bool:
    return (path / "elm").is_dir() and (path / "valuesets").is_dir()


def cql_dir() -> Path:
    here = Path(__file__).resolve()
    candidates: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        candidates.append(Path(env))
    candidates.append(here.parent.parent / "cql")
    candidates.append(here.parents[3] / "cql")
    for candidate in candidates:
        if _usable(candidate):
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no cql/elm and cql/valuesets found (tried {tried}); set {ENV_VAR}")
