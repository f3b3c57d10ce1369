"""The ``model_argmin`` / ``model_argmax`` measures: the setting that hyperopt's
TPE model ranks best once it has seen every result of a sampling session.

The session's trial documents give each trial's sampled labels; their losses
are replaced by the measured values (negated for a maximum), and TPE proposes
one more point with a fixed seed, so the estimate is the same on every run.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from ._errors import MeasureError

logger = logging.getLogger(__name__)

# Many candidates make the proposal the model's optimum rather than a draw.
_EI_CANDIDATES = 1000


def model_estimate(results: Any, values_by_tid: dict[int, float], minimize: bool) -> Any:
    """TPE's best setting for ``results`` (a ``SamplingResults``) with these values.

    Raises:
        MeasureError: the session has no trial documents for these results.
    """
    import hyperopt
    from hyperopt import tpe

    from slurm_search import session

    name = results["session_name"]
    docs = [d for d in session.trial_docs(name) if d.get("tid") in values_by_tid]
    if not docs:
        raise MeasureError("model_argmin" if minimize else "model_argmax", f"{name} has no finished trials")
    sign = 1.0 if minimize else -1.0
    trials = hyperopt.Trials()
    tids = [d["tid"] for d in docs]
    miscs = [copy.deepcopy(d["misc"]) for d in docs]
    results_ = [{"status": hyperopt.STATUS_OK, "loss": sign * float(values_by_tid[t])} for t in tids]
    new_docs = trials.new_trial_docs(tids, [None] * len(tids), results_, miscs)
    for doc in new_docs:
        doc["state"] = hyperopt.JOB_STATE_DONE
    trials.insert_trial_docs(new_docs)
    trials.refresh()
    domain = hyperopt.Domain(lambda _: 0.0, results.space)
    new_id = max(tids) + 1
    proposal = tpe.suggest(
        [new_id], domain, trials, results.model_seed, n_startup_jobs=0, n_EI_candidates=_EI_CANDIDATES
    )
    vals = {k: v[0] for k, v in proposal[0]["misc"]["vals"].items() if v}
    return hyperopt.space_eval(results.space, vals)["value"]
