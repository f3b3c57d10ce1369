"""Running one objective call: optionally in a child that can be killed, and
checking that its result can be stored.

Two rules keep a session readable by everyone:

* A result is stored only if it pickles and loads back in a clean Python (a
  fresh interpreter that imports nothing but what the pickle names, as a
  launcher or ``ssearch show`` on another host would). A result that fails
  either is that trial's failure, with a one-line reason. Results made of
  builtins only (numbers, strings, lists, dicts, ...) load anywhere and skip
  the clean interpreter; others are sent to one, kept per worker process.
* With a ``trial_timeout``, the objective runs in a forked child: a hung
  objective (a C extension that never returns, a deadlock) cannot be stopped
  in a thread, but a child can be killed. The child costs a fork per trial
  and shares nothing back but its pickled result, which is why a timeout is
  opt-in. (Fork, not a fresh interpreter: the objective, its context and
  what it imported are already here; a library that starts a thread pool at
  import, such as an OpenMP runtime, may not be safe to use after fork: set
  its thread count to 1 in such objectives, or leave the timeout off.)
"""

from __future__ import annotations

import atexit
import os
import pickle
import pickletools
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from ._errors import Exploited, InvalidResult, Pruned, Suspended
from ._folders import child_environment

__all__ = ["Outcome", "call_objective", "unstorable_reason"]

# What the clean interpreter runs: read length-prefixed pickles on stdin,
# answer one line each on the descriptor that was stdout (anything the loaded
# modules print goes to stderr instead).
_CHECKER = r"""
import importlib, os, pickle, struct, sys
answer = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
if sys.argv[1:]:
    try:
        importlib.import_module(sys.argv[1])
    except BaseException as err:
        print(f"the objective's module {sys.argv[1]} does not import here: {err}", file=sys.stderr)
read = sys.stdin.buffer.read
while True:
    head = read(8)
    if len(head) < 8:
        break
    data = read(struct.unpack("<Q", head)[0])
    try:
        pickle.loads(data)
        answer.write("ok\n")
    except BaseException as err:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        answer.write("error " + " ".join(text.split()) + "\n")
    answer.flush()
"""

_PICKLE_PROTOCOL = 5


class Outcome:
    """What one objective call gave: a result, the reason it failed, its pruning,
    its suspension, or a PBT exploit (the objective is then called again)."""

    __slots__ = ("result", "failure", "pruned", "suspended", "exploited")

    def __init__(
        self,
        result: Any = None,
        failure: str | None = None,
        pruned: Pruned | None = None,
        suspended: Suspended | None = None,
        exploited: Exploited | None = None,
    ) -> None:
        self.result = result
        self.failure = failure
        self.pruned = pruned
        self.suspended = suspended
        self.exploited = exploited


_PLAIN_SCALARS = (float, int, str, bool, bytes, type(None))


def _plain(value: Any, budget: list[int]) -> bool:
    """Whether a value is builtin scalars in dicts, lists and tuples only (at most `budget` of them).

    Such a value pickles and loads back in any Python: no need to pickle it
    to find out (the common result: a loss, or a dict of a few numbers).
    """
    budget[0] -= 1
    if budget[0] < 0:
        return False
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is dict:
        return all(_plain(k, budget) and _plain(v, budget) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_plain(v, budget) for v in value)
    return False


def _only_builtins(data: bytes) -> bool:
    """Whether a pickle names no class or function (so it loads in any Python)."""
    for opcode, _arg, _pos in pickletools.genops(data):
        if "GLOBAL" in opcode.name or opcode.name in ("INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD"):
            return False
    return True


class _Checker:
    """A clean interpreter, started on first use and kept for the process.

    It imports the objective's module and nothing else; it finds modules
    where this process does (its sys.path as PYTHONPATH), as a launcher that
    created the session (and so imported the objective) would.
    """

    def __init__(self, module: str | None) -> None:
        self._module = module
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def check(self, data: bytes) -> str | None:
        """None if ``data`` loads in the clean interpreter, else why not."""
        for _ in range(2):  # a checker that died (killed, out of memory) is started again
            proc = self._start()
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(struct.pack("<Q", len(data)) + data)
                proc.stdin.flush()
                line = proc.stdout.readline().decode(errors="replace").strip()
            except (BrokenPipeError, OSError):
                line = ""
            if line == "ok":
                return None
            if line.startswith("error "):
                return line[len("error "):]
            self.close()
        return "the interpreter that checks results could not load it (it died)"

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            env = child_environment()
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHECKER, *([self._module] if self._module else [])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            self._pid = os.getpid()
        return self._proc

    def close(self) -> None:
        if self._proc is not None and self._pid == os.getpid():
            try:
                self._proc.kill()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._proc = None


_checkers: dict[str | None, _Checker] = {}


@atexit.register
def _close_checkers() -> None:
    for checker in _checkers.values():
        checker.close()


def unstorable_reason(result: Any, module: str | None = None) -> str | None:
    """Why ``result`` cannot be stored (None if it can): it must pickle and load back.

    Args:
        result: the objective's result.
        module: the objective's module, imported by the clean interpreter.
    """
    if _plain(result, [64]):
        return None
    try:
        data = pickle.dumps(result, protocol=_PICKLE_PROTOCOL)
    except Exception as err:  # pickling user objects raises many types
        return f"the result does not pickle ({type(err).__name__}: {err})"
    try:
        if _only_builtins(data):
            return None
    except Exception:  # noqa: BLE001 - a pickle pickletools cannot walk: ask the checker
        pass
    checker = _checkers.get(module)
    if checker is None:
        checker = _checkers[module] = _Checker(module)
    why = checker.check(data)
    if why is None:
        return None
    return f"the result does not load back in a clean Python ({why})"


def call_objective(
    objective: Callable[[Any, Any], Any],
    params: Any,
    context: Any,
    normalize: Callable[[Any], dict],
    timeout: float | None,
    module: str | None = None,
) -> Outcome:
    """Call the objective (in a child with a timeout) and check its result.

    Args:
        module: the objective's module (the clean interpreter imports it).
    """
    if timeout is None:
        try:
            result = normalize(objective(params, context))
        except Pruned as err:  # the pruner stopped the trial (or an enclosing one)
            return Outcome(pruned=err)
        except Suspended as err:  # handed back, to continue from its checkpoint
            return Outcome(suspended=err)
        except InvalidResult as err:  # what was returned, in one line: our frames say nothing more
            return Outcome(failure=str(err))
        except Exploited as err:  # a PBT member goes on from a better one's checkpoint
            return Outcome(exploited=err)
        # The objective is user code: any exception is the trial's failure,
        # kept with its traceback; so is sys.exit, which would otherwise end
        # the worker (and, inline, the launcher) without a word.
        except (Exception, SystemExit):
            return Outcome(failure=traceback.format_exc())
    else:
        outcome = _in_child(objective, params, context, normalize, timeout)
        if outcome.result is None:
            return outcome
        result = outcome.result
    why = unstorable_reason(result, module)
    if why is not None:
        return Outcome(failure=why)
    return Outcome(result)


def _in_child(
    objective: Callable[[Any, Any], Any],
    params: Any,
    context: Any,
    normalize: Callable[[Any], dict],
    timeout: float,
) -> Outcome:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: evaluate, send (kind, payload) back, leave at once
        os.close(read_end)
        code = 0
        message: tuple[str, Any]
        try:
            try:
                result = normalize(objective(params, context))
            except Pruned as err:
                message = ("pruned", err)
            except Suspended as err:
                message = ("suspended", err)
            except InvalidResult as err:
                message = ("error", str(err))
            except Exploited as err:
                message = ("exploited", err)
            except (Exception, SystemExit):
                message = ("error", traceback.format_exc())
            else:
                try:
                    # Pickled twice: the parent reads the envelope even when
                    # the result itself does not load there.
                    message = ("ok", pickle.dumps(result, protocol=_PICKLE_PROTOCOL))
                except Exception as err:  # noqa: BLE001 - user objects
                    message = ("error", f"the result does not pickle ({type(err).__name__}: {err})")
            data = pickle.dumps(message, protocol=_PICKLE_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:  # noqa: BLE001 - nothing may escape the child
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return Outcome(failure=f"timed out after {timeout:g} s: the objective was stopped")
    try:
        kind, payload = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - no message, or a cut one
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return Outcome(failure=f"the objective's process {how} before returning a result")
    if kind == "pruned":
        return Outcome(pruned=payload)
    if kind == "suspended":
        return Outcome(suspended=payload)
    if kind == "exploited":
        return Outcome(exploited=payload)
    if kind != "ok":
        return Outcome(failure=payload)
    try:
        return Outcome(pickle.loads(payload))
    except Exception as err:  # noqa: BLE001 - unpickling user objects raises many types
        return Outcome(failure=f"the result does not load back ({type(err).__name__}: {err})")
