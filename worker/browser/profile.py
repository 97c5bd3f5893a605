"""The browser's profile and switches: what a scanned page may use, chosen deliberately rather than inherited.

Each browser process gets a fresh profile directory (and a home of its own for the certificate store); each scan
then runs in a fresh off-the-record context of that profile, so nothing a page leaves behind — cookies, cache,
storage, service workers, permissions — reaches the next scan, while the profile's preferences apply to all.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scanfleet.chromium import HOW_TO_GET_ONE, chromium_path

# Third-party cookies allowed, as desktop Chrome allows them by default. Off-the-record contexts block them
# unless the profile they derive from says otherwise (cookie_controls_mode 0: "off", no blocking).
COOKIE_POLICY = "third-party cookies allowed (desktop Chrome's default), in a fresh off-the-record context per scan"

PREFERENCES = {
    "profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False},
    "net": {"network_prediction_options": 2},  # never: no DNS prefetch, preconnect or prerender by the browser
    # WebRTC may use UDP only through the proxy, which offers none: no STUN or ICE packet leaves the machine.
    "webrtc": {"ip_handling_policy": "disable_non_proxied_udp", "multiple_routes_enabled": False},
    "safebrowsing": {"enabled": False},
    "download": {"prompt_for_download": False},
}

SWITCHES = (
    "--disable-quic",  # QUIC is UDP: it would not go through the proxy
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
    # Cross-site frames stay in the page's renderer, so the page's DevTools session sees their requests too.
    "--disable-site-isolation-trials",
    "--no-pings",  # <a ping> is a beacon the page did not script; it would be refused anyway
    "--deny-permission-prompts",
    "--mute-audio",
)


class ProfileError(Exception):
    pass


@dataclass(frozen=True)
class Profile:
    root: Path  # removed with the browser

    @property
    def user_data_dir(self) -> Path:
        return self.root / "profile"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def environment(self) -> dict[str, str]:
        """The browser process's HOME and XDG dirs: its certificate store, and nothing written to the worker's."""
        return {
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }


def make_profile(root: Path, ca_file: Path | None) -> Profile:
    """A new profile under `root`: its preferences, and `ca_file`'s authorities trusted (NSS, as Chromium on Linux
    reads them) alongside the system's."""
    profile = Profile(root)
    default = profile.user_data_dir / "Default"
    default.mkdir(parents=True)
    (default / "Preferences").write_text(json.dumps(PREFERENCES))
    profile.home.mkdir()
    if ca_file is not None:
        _trust(profile.home / ".pki" / "nssdb", ca_file)
    return profile


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def _trust(nssdb: Path, ca_file: Path) -> None:
    certutil = shutil.which("certutil")
    if certutil is None:
        raise ProfileError(
            "certutil (Debian's libnss3-tools) is needed for the browser to trust SCANFLEET_FETCH_CA_FILE"
        )
    certificates = _PEM.findall(ca_file.read_bytes())
    if not certificates:
        raise ProfileError(f"{ca_file} holds no PEM certificate")
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    _run([certutil, "-d", database, "-N", "--empty-password"])
    for index, certificate in enumerate(certificates):
        # certutil -A reads one certificate per call; "C,," trusts it to issue server certificates.
        pem = nssdb / f"ca-{index}.pem"
        pem.write_bytes(certificate + b"\n")
        _run([certutil, "-d", database, "-A", "-n", f"scanfleet-{index}", "-t", "C,,", "-i", str(pem)])


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        raise ProfileError(f"{' '.join(argv[:4])}… failed: {done.stderr.decode(errors='replace').strip()}")


def find_executable(configured: Path | None) -> Path:
    """SCANFLEET_BROWSER_EXECUTABLE, else chromium or chromium-browser on PATH."""
    found = chromium_path(configured)
    if found is not None:
        return found
    if configured is not None:
        raise ProfileError(f"SCANFLEET_BROWSER_EXECUTABLE {configured} is not a file")
    raise ProfileError(f"no chromium or chromium-browser on PATH ({HOW_TO_GET_ONE})")
