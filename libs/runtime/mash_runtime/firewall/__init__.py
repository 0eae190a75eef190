"""The firewalled hub's cryptography: sealed and signed envelopes, service keys and their directory."""

from .casekeys import CaseKeys, CaseShredded, FileCaseKeys
from .envelope import Header, SealError, header_of, open_sealed, seal
from .keys import Directory, FileCustody, KeyCustody, generate, keyed_digest
from .wire import Firewall

__all__ = [
    "CaseKeys",
    "CaseShredded",
    "FileCaseKeys",
    "Directory",
    "FileCustody",
    "Firewall",
    "Header",
    "KeyCustody",
    "SealError",
    "generate",
    "header_of",
    "keyed_digest",
    "open_sealed",
    "seal",
]
