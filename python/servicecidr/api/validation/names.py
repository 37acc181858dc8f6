"""Names: DNS labels and subdomains, qualified names, label values, ports, path segments
(apimachinery's util/validation and api/validate/content)."""

from __future__ import annotations

import re
from typing import Final

from servicecidr.api.field_errors import (
    Path,
)
from servicecidr.api.validation.common import byte_len
from servicecidr.api.validation.ips import is_valid_ip

__all__ = [
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_path_segment_name",
    "is_path_segment_prefix",
    "is_qualified_name",
    "is_valid_label_value",
    "is_valid_port_name",
    "is_valid_port_num",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "validate_ip_address_name",
    "validate_path_segment_name",
]

# --------------------------------------------------------------------------------------
# Names, labels, ports (util/validation, api/validate/content)
# --------------------------------------------------------------------------------------

# Kubernetes 1.33 printed "characters" here; the newest apimachinery
# (api/validate/content/errors.go) prints "bytes" (lengths are byte counts in both).
_MAX_LEN_UNIT: Final = "bytes"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} {_MAX_LEN_UNIT}"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += f"'{ex}', "
    return msg + f"regex used for validation is '{fmt}')"


_EMPTY_ERROR: Final = "must be non-empty"

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_ERR: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_ERR: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character"
)
_LABEL_KEY_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_ERR: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character"
)
_LABEL_VALUE_FMT: Final = "(" + _LABEL_KEY_FMT + ")?"
_LABEL_VALUE_ERR: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character"
)

_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_LABEL_KEY_RE: Final = re.compile(_LABEL_KEY_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_PORT_NAME_CHARSET_RE: Final = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE: Final = re.compile("[a-z]")


def _full(rx: re.Pattern[str], s: str) -> bool:
    return rx.fullmatch(s) is not None


def is_dns1123_label(value: str) -> list[str]:
    """``validation.IsDNS1123Label`` (max 63)."""
    errs: list[str] = []
    if byte_len(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS1123_LABEL_ERR, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """``validation.IsDNS1123Subdomain`` (max 253)."""
    errs: list[str] = []
    if byte_len(value) > 253:
        errs.append(_max_len_error(253))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """``validation.IsDNS1035Label`` (max 63)."""
    errs: list[str] = []
    if byte_len(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(_regex_error(_DNS1035_LABEL_ERR, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """``validation.IsQualifiedName`` = ``content.IsLabelKey``: ``[prefix/]name``."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + _EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_ERR, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + _EMPTY_ERROR)
    elif byte_len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _full(_LABEL_KEY_RE, name):
        errs.append(
            "name part "
            + _regex_error(_LABEL_KEY_ERR, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """``validation.IsValidLabelValue`` (max 63, may be empty)."""
    errs: list[str] = []
    if byte_len(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(
            _regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """``validation.IsValidPortNum``: 1..65535."""
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """``validation.IsValidPortName`` (IANA_SVC_NAME: <=15 chars, a letter, no ``--``)."""
    errs: list[str] = []
    if byte_len(port) > 15:
        errs.append(_max_len_error(15))
    if not _full(_PORT_NAME_CHARSET_RE, port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if _PORT_NAME_LETTER_RE.search(port) is None:
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_path_segment_prefix(name: str) -> list[str]:
    """``content.IsPathSegmentPrefix``: no ``/`` and no ``%``."""
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


def is_path_segment_name(name: str) -> list[str]:
    """``content.IsPathSegmentName``: not ``.`` or ``..``, no ``/`` and no ``%``."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return is_path_segment_prefix(name)


def _mask_trailing_dash(name: str) -> str:
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNSSubdomain`` (ServiceCIDR names)."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNSLabel`` (namespace names)."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNS1035Label`` (Service names)."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def validate_path_segment_name(name: str, prefix: bool) -> list[str]:
    """``path.ValidatePathSegmentName``: the generic registry's name check."""
    return is_path_segment_prefix(name) if prefix else is_path_segment_name(name)


def validate_ip_address_name(name: str, prefix: bool) -> list[str]:
    """``ValidateIPAddressName``: the name must be a canonical IP (``prefix`` is ignored)."""
    del prefix
    return [e.detail for e in is_valid_ip(Path(), name)]
