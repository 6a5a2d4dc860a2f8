"""Where a `ratings` command puts the document it makes: standard output, or a file written atomically."""

from __future__ import annotations

from pathlib import Path

import click

from core.files import write_atomic


def put(text: str, output: Path | None, wrote: str) -> None:
    """``text`` on standard output (no ``output``, or ``-``), else into ``output`` atomically and a
    line saying so (``wrote``); a file that cannot be written is one CLI error."""
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    click.echo(f"wrote {output} ({wrote})")
