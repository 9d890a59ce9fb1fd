"""Switching graph recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The switch lives in a ``contextvars.ContextVar``, so it is per thread (and per asyncio task)
and a ``with`` block always restores the previous value, even when the block raises.
"""
import contextvars
import functools

_grad_enabled = contextvars.ContextVar("gradwork_grad_enabled", default=True)


def is_grad_enabled():
    """True when operations record the graph that ``backward`` walks."""
    return _grad_enabled.get()


class set_grad_enabled:
    """Context manager and decorator that turns graph recording on (``True``) or off (``False``).

    >>> with gradwork.no_grad():      # evaluation: no graph, less memory, faster
    ...     logits = model(x)
    """

    def __init__(self, mode):
        self.mode = bool(mode)
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(self.mode))
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def __call__(self, func):
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            # A fresh manager per call, so recursive and threaded calls never share a token.
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Build no graph inside the block or the decorated function (inference, evaluation, updates)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record the graph again inside a ``no_grad`` region."""

    def __init__(self):
        super().__init__(True)
