"""Optional parts of the install: the local default needs none of them.

`make local` installs the project alone; deploying (`pulumi up`, `ratings package`, `canary` on a
cloud stack) needs the ``aws`` extra and SageMaker training the ``sagemaker`` extra. A command that
needs a missing extra says which, in one line, instead of failing on an import.
"""

from __future__ import annotations

import importlib.util

AWS = "aws"
SAGEMAKER = "sagemaker"
MSG_MISSING = ("{purpose} needs the '{extra}' extra, which is not installed: run `make install` "
               "(or `pip install -c constraints.txt -e '.[{extra}]'`)")


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package
        return False


def missing_message(module: str, extra: str, purpose: str) -> str | None:
    """The one-line hint when ``module`` (part of ``extra``) is not importable, else None."""
    return None if installed(module) else MSG_MISSING.format(purpose=purpose, extra=extra)
