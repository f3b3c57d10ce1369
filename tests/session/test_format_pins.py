"""What every session writes and no code may rename: the event classes of
`_events.py` (pickled by module path and position into every log) and the
objective reference of a DSL-made session (tests/dsl/test_objective_ref.py).
The golden sessions (data/golden/) pin the events they hold; these pin the
rest."""

from __future__ import annotations

import inspect
import pickle
import pickletools

from slurm_search.session import _events

# Every event class of the logs: pickled as slurm_search.session._events.<name>.
EVENTS = (
    "Spec", "Created", "Claim", "Renew", "Result", "Failure", "Report", "Prune", "Checkpoint",
    "Exploit", "Suspend", "Expire", "Status", "Delete", "Annotate", "Snapshot",
)
# In no golden log: their fields (pickled by position) are pinned here.
FIELDS = {
    "Renew": ("tid", "worker", "attempt", "lease_until", "time"),
    "Exploit": (
        "tid", "worker", "attempt", "step", "donor", "donor_seq", "donor_step", "seq", "old_vals", "new_vals", "time",
    ),
    "Expire": ("tid", "attempt", "time"),
    "Snapshot": ("state",),
}


def _classes():
    return {
        name: cls
        for name, cls in vars(_events).items()
        if inspect.isclass(cls) and cls.__module__ == _events.__name__ and hasattr(cls, "_fields")
    }


def _globals(data: bytes) -> set[str]:
    # The module and name of every class a pickle refers to (STACK_GLOBAL takes the two strings before it).
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            found.add(f"{strings[-2]}.{strings[-1]}")
        elif op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
    return found


def test_every_event_class_keeps_its_module_path_and_name():
    classes = _classes()
    assert set(classes) == set(EVENTS)
    for name, cls in classes.items():
        value = cls(*([None] * len(cls._fields)))
        assert f"slurm_search.session._events.{name}" in _globals(pickle.dumps(value, protocol=5))


def test_the_events_in_no_golden_log_keep_their_fields():
    classes = _classes()
    assert {name: classes[name]._fields for name in FIELDS} == FIELDS
