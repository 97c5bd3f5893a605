"""Evidence for the forms on the final page: where they submit, whether over TLS, what they collect."""

from __future__ import annotations

from urllib.parse import urlsplit

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document
from scanfleet.worker.privacy.domains import host_of, registrable_domain


def collect_forms(document: Document | None) -> list[Evidence]:
    """One "form" row per form that submits over the network, in document order.

    A form whose action is http:// sends what the visitor typed unencrypted, whatever the page itself
    was served over. Severity: high when such a form has a password or e-mail field, medium for any
    other form submitting over http, info otherwise.
    """
    if document is None:
        return []
    rows: list[Evidence] = []
    for form in document.forms:
        secure = urlsplit(form.action).scheme == "https"
        fields = f" with {', '.join(form.sensitive_fields)}" if form.sensitive_fields else ""
        rows.append(
            Evidence(
                kind="form",
                severity=_severity(secure, bool(form.sensitive_fields)),
                title=f"Form{fields} submits to {form.action}",
                details={
                    "action": form.action,
                    "method": form.method,
                    "secure": secure,
                    "third_party": registrable_domain(host_of(form.action) or "") != document.site,
                    "sensitive_fields": list(form.sensitive_fields),
                    "inputs": form.inputs,
                },
                location=document.url,
            )
        )
    return rows


def _severity(secure: bool, sensitive: bool) -> Severity:
    if secure:
        return Severity.INFO
    return Severity.HIGH if sensitive else Severity.MEDIUM
