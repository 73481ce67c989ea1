"""Pydantic validation errors as located scenario errors, with did-you-mean for unknown keys."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.errors import ErrorItem
from sim.scenario.loader import Located


def pydantic_errors(err: ValidationError, located: Located, prefix: tuple, model: type[BaseModel] | None) -> list[ErrorItem]:
    """Turn a pydantic ValidationError into located items, with did-you-mean for unknown keys."""
    items = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = prefix + loc
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1]) if model is not None else []
            key = str(loc[-1]) if loc else ""
            guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            msg = f"unknown key {key!r}" + (f"; did you mean {guess[0]!r}?" if guess else "")
            if known:
                msg += f" (known: {', '.join(sorted(known))})" if not guess else ""
        elif e["type"] == "missing":
            msg = "required key is missing"
        items.append(located.error(path, msg))
    return items


def _fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    m: Any = model
    for p in path:
        if isinstance(p, int):
            continue
        f = getattr(m, "model_fields", {}).get(p)
        if f is None:
            return []
        ann = f.annotation
        m = next((a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)), ann)
    return list(getattr(m, "model_fields", {}))
