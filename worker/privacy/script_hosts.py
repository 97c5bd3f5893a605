"""Hosts named in inline <script> text: the loaders that tag snippets build at run time.

A vendor snippet rarely has a <script src>: it writes one, from a string such as
'https://connect.facebook.net/en_US/fbevents.js', "//www.clarity.ms/tag/" or 'edge.fullstory.com/s/fs.js'.
Only string literals count (a quote right before the URL), so comments, licences and prose never match. A bare
host string ('fullstory.com') is taken only when the host is a known vendor or consent manager: an unknown one
is as likely a file name or a property path ('app.js', 'user.name').
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from scanfleet.worker.privacy import consent_managers
from scanfleet.worker.privacy.vendors import VENDORS

# Labels of a DNS name; the last one starts with a letter, so version numbers ('1.2.3') are not hosts.
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}"
_REST = r"""[^'"`\s\\<>${}]*"""  # up to the end of the literal, or of its text before a template's ${…}
_URL = re.compile(rf"""['"`](https?:)?//({_HOST})(:\d{{1,5}})?([/?#]{_REST})?""", re.IGNORECASE)
_HOST_STRING = re.compile(rf"""(['"])({_HOST})(/{_REST})?\1""", re.IGNORECASE)
# Namespace names, not addresses: createElementNS('http://www.w3.org/2000/svg', …), JSON-LD's @context.
_NAMESPACE_HOSTS = frozenset({"www.w3.org", "schema.org"})
_KNOWN = frozenset(VENDORS) | consent_managers.HOSTS


@dataclass(frozen=True)
class ScriptReference:
    host: str  # lower case
    url: str  # absolute: a protocol-relative URL takes the page's scheme, a host string https
    written_as: str  # "url", "protocol_relative" or "host"


def hosts_in_scripts(scripts: list[str], page_url: str) -> list[ScriptReference]:
    """Every distinct reference in `scripts`, in the order found (URLs of a script before its host strings)."""
    scheme = urlsplit(page_url).scheme or "https"
    found: dict[ScriptReference, None] = {}  # an ordered set
    for script in scripts:
        text = script.replace("\\/", "/") if "\\/" in script else script  # JSON-escaped URLs
        if "//" in text:
            for match in _URL.finditer(text):
                given, host, port, rest = match.groups()
                host = host.lower()
                url = f"{given.lower() if given else scheme + ':'}//{host}{port or ''}{rest or '/'}"
                found[ScriptReference(host, url, "url" if given else "protocol_relative")] = None
        for match in _HOST_STRING.finditer(text):
            host = match[2].lower()
            if _is_known(host):
                found[ScriptReference(host, f"https://{host}{match[3] or '/'}", "host")] = None
    return [reference for reference in found if reference.host not in _NAMESPACE_HOSTS]


def _is_known(host: str) -> bool:
    """Whether `host` or a parent domain of it is in the vendor or consent-manager tables."""
    labels = host.split(".")
    return any(".".join(labels[index:]) in _KNOWN for index in range(len(labels) - 1))
