"""A session's goal: how its loss reads for people.

The search always minimises the loss. The goal, fixed when the session is
created (`Spec.goal`), says what that loss is in the terms of whoever wrote
the objective, so that listings (`ssearch list`, `show`, `trials`, the
dashboard, plots) show the value the objective returned, in its sign:

- `min`: the loss is the value; lower is better.
- `max`: the objective maximises a value and returns `loss = -value` (a DSL
  `maximizing_sampling` node, the rl `ale` type): shown as `-loss`, higher
  is better.
- `none`: nothing is optimised; the loss is a placeholder (the 0 of a DSL
  random or enumeration node): no value, no best (shown as `-`).

Logs written before the goal was recorded read as `min`, as they were shown.
Pure functions.
"""

from __future__ import annotations

from ._errors import InvalidSetting

__all__ = ["GOALS", "check_goal", "value_of"]

GOALS = ("min", "max", "none")


def check_goal(goal: object) -> str:
    """`goal` if it is one of `GOALS`, exactly.

    Raises:
        InvalidSetting: anything else (`MIN`, `maximize`, `1`).
    """
    if not isinstance(goal, str) or goal not in GOALS:
        raise InvalidSetting("goal", goal, "min, max or none (how the loss reads: the value, minus the value, nothing)")
    return goal


def value_of(goal: str, loss: float | None) -> float | None:
    """The objective's value of a trial whose loss is `loss`; None when there is none."""
    if loss is None or goal == "none":
        return None
    return -float(loss) if goal == "max" else float(loss)

