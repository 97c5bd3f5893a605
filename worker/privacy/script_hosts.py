"""Hosts named in inline <script> text: the loaders that tag snippets build at run time.

A vendor snippet rarely has a <script src>: it writes one, from a string such as
'https://connect.facebook.net/en_US/fbevents.js', "//www.clarity.ms/tag/" or 'edge.fullstory.com/s/fs.js'.
Only string literals count (a quote right before the URL), so comments, licences and prose never match. A bare
host string ('fullstory.com') is taken only when the host is a known vendor or consent manager: an unknown one
is as likely a file name or a property path ('app.js', 'user.name').
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scanfleet.worker.privacy import consent_managers
from scanfleet.worker.privacy.vendors import VENDORS

# Labels of a DNS name; the last one starts with a letter, so version numbers ('1.2.3') are not hosts.
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}"
_REST = r"""[^'"`\s\\<>${}]*"""  # up to the end of the literal, or of its text before a template's ${…}
# One pass over the text: a literal that starts with a URL ('https://…', "//…"), or is a host ('a.com/x.js').
_LITERAL = re.compile(
    rf"""(['"`])(?:(https?:)?//({_HOST})(:\d{{1,5}})?([/?#]{_REST})?|({_HOST})(/{_REST})?\1)""", re.IGNORECASE
)
# Namespace names, not addresses: createElementNS('http://www.w3.org/2000/svg', …), JSON-LD's @context.
_NAMESPACE_HOSTS = frozenset({"www.w3.org", "schema.org"})
_KNOWN = frozenset(VENDORS) | consent_managers.HOSTS
_KNOWN_TLDS = frozenset(name.rpartition(".")[2] for name in _KNOWN)


MAX_URLS = 5  # distinct URLs kept per host, all judged and listed: bounded on a page naming thousands


@dataclass
class NamedHost:
    """A host inline scripts name, and how."""

    host: str  # lower case
    urls: list[str] = field(default_factory=list)  # distinct, absolute, the first MAX_URLS in the order found
    written_as: set[str] = field(default_factory=set)  # "url", "protocol_relative", "host"
    count: int = 0  # times named

    def add(self, url: str, written_as: str) -> None:
        self.count += 1
        self.written_as.add(written_as)
        if len(self.urls) < MAX_URLS and url not in self.urls:
            self.urls.append(url)


def hosts_in_scripts(scripts: list[str], page_url: str) -> dict[str, NamedHost]:
    """Every host named in `scripts`, in the order first named.

    A protocol-relative URL takes the page's scheme, a host string https.
    """
    scheme = urlsplit(page_url).scheme or "https"
    found: dict[str, NamedHost] = {}
    for script in scripts:
        text = script.replace("\\/", "/") if "\\/" in script else script  # JSON-escaped URLs
        for match in _LITERAL.finditer(text):
            _, given, host, port, rest, bare, path = match.groups()
            if host is not None:
                host = host.lower()
                url = f"{given.lower() if given else scheme + ':'}//{host}{port or ''}{rest or '/'}"
                _named(found, host).add(url, "url" if given else "protocol_relative")
            elif _is_known(bare := bare.lower()):
                _named(found, bare).add(f"https://{bare}{path or '/'}", "host")
    return {host: named for host, named in found.items() if host not in _NAMESPACE_HOSTS}


def _named(found: dict[str, NamedHost], host: str) -> NamedHost:
    named = found.get(host)
    if named is None:
        named = found[host] = NamedHost(host)
    return named


def _is_known(host: str) -> bool:
    """Whether `host` or a parent domain of it is in the vendor or consent-manager tables."""
    if host.rpartition(".")[2] not in _KNOWN_TLDS:
        return False  # most candidates ('a.b', 'app.js') stop here
    labels = host.split(".")
    return any(".".join(labels[index:]) in _KNOWN for index in range(len(labels) - 1))
