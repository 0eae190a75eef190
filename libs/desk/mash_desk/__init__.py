"""The skeleton every agency desk shares.

A desk is an agency, a sharing policy file and its record tables; this package matches subjects, applies
the policy, writes disclosure records and runs the service. Adding an agency (education, probation) is a
folder with a policy file and a records module, not a copy of this code.
"""

from .discovery import discovered
from .model import AgencyRecord, Candidate, DeskAnswer, Match
from .policy import SharingPolicy
from .records import RecordClass, SqlRecordSource, people_table, record_table
from .service import DeskDefinition, build_desk_app, main

__all__ = [
    "AgencyRecord",
    "Candidate",
    "DeskAnswer",
    "DeskDefinition",
    "Match",
    "RecordClass",
    "SharingPolicy",
    "SqlRecordSource",
    "build_desk_app",
    "discovered",
    "main",
    "people_table",
    "record_table",
]
