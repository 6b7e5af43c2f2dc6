"""Exceptions with one-line messages that name the bad value and what is allowed.

The CLI maps :class:`InputError` (and its subclass :class:`ArtifactError`) to exit code 2
and :class:`ComputationError` to exit code 1, printing ``str(error)`` on one line.
"""


class PolyfitError(Exception):
    """Base class of every error polyfit raises on purpose."""


class InputError(PolyfitError, ValueError):
    """Bad input: a value outside what is allowed (CLI exit code 2)."""


class ArtifactError(InputError):
    """A missing, unreadable, corrupt or unsupported artifact file (CLI exit code 2)."""


class UnknownOptionError(InputError, TypeError):
    """An unknown keyword argument: a TypeError as Python raises for any function, and an
    InputError so the CLI and callers that catch InputError see it too."""


class ComputationError(PolyfitError, RuntimeError):
    """A computation that could not finish, e.g. a Remez run that did not converge (exit 1)."""


class MissingExtraError(InputError, ImportError):
    """A feature needs an optional dependency that is not installed (CLI exit code 2)."""

    def __init__(self, feature: str, extra: str, module: str):
        super().__init__(
            f"{feature} needs the optional package '{module}', which is not installed; "
            f"install it with: pip install 'polyfit-ppml[{extra}]'"
        )
        self.extra = extra
        self.module = module
