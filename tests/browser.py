"""Debian's chromium, headless, for the tests that look at a page as a person would.

``find_or_install`` returns the browser's path, installing the ``chromium`` package when it is
missing and this user may (root with apt-get); otherwise it says why no browser is available, so
the caller can skip with that reason. Every run is bounded in time and uses a fresh profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PACKAGE = "chromium"
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 60
# No first-run work, no background traffic to Google: the page under test is all the browser loads.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")

NO_BROWSER = "no chromium found and it cannot be installed here ({reason}); install Debian's chromium package"


class NoBrowser(RuntimeError):
    """No browser is available; the message says why."""


def _installed() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _apt_install() -> None:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                                   PACKAGE]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=environment,
                                  timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise NoBrowser(NO_BROWSER.format(reason=f"{' '.join(command)} took over {INSTALL_TIMEOUT_S} s")) from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise NoBrowser(NO_BROWSER.format(reason=f"{' '.join(command)} failed: {last}"))


def find_or_install() -> str:
    found = _installed()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise NoBrowser(NO_BROWSER.format(reason="installing needs root and apt-get"))
    _apt_install()
    found = _installed()
    if not found:
        raise NoBrowser(NO_BROWSER.format(reason=f"apt-get installed {PACKAGE} but no chromium is on PATH"))
    return found


def _run(browser: str, url: str, extra: list[str], budget_ms: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *extra, url]
        done = subprocess.run(command, capture_output=True, timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    return done


def dump_dom(browser: str, url: str, budget_ms: int = 3000) -> str:
    """The page's DOM once its timers have run for ``budget_ms`` of virtual time."""
    return _run(browser, url, ["--dump-dom"], budget_ms).stdout.decode("utf-8", "replace")


def screenshot(browser: str, url: str, path: Path, size: tuple[int, int] = (1280, 900), budget_ms: int = 3000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(browser, url, [f"--screenshot={path}", f"--window-size={size[0]},{size[1]}"], budget_ms)
    if not path.exists() or path.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot to {path}")
    return path
