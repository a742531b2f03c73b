"""Rendering an Interpretation (placeholder until the report issue lands):
plain-text console report and a minimal JSON round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCHEMA_VERSION = 0


def print_report(interp: Any, console: Any = None) -> None:
    print(f"neuroninterp: {interp.description}")
    for c in interp.front:
        mark = "*" if c is interp.best else " "
        print(f" {mark} {c.complexity:3d}  {c.loss:10.3e}  {c.mean_cosine:8.5f}  {c}")
    for note in interp.notes:
        print(f"note: {note}")


def interpretation_to_dict(interp: Any) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "feature_names": interp.feature_names,
        "front": [{"formula": str(c), "complexity": c.complexity, "loss": c.loss} for c in interp.front],
        "best": None if interp.best is None else interp.front.index(interp.best),
        "stats": interp.stats,
        "notes": interp.notes,
        "description": interp.description,
    }


def interpretation_from_dict(data: dict[str, Any]) -> Any:
    from ._interpretation import Candidate, Interpretation

    names = data["feature_names"]
    front = [Candidate.from_string(c["formula"], names, c["complexity"], c["loss"]) for c in data["front"]]
    best = None if data["best"] is None else front[data["best"]]
    return Interpretation(front, best, names, data["stats"], notes=data["notes"],
                          description=data["description"])


def save_report(interp: Any, directory: Any) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    interp.save(directory / "report.json")
    return directory
