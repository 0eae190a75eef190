"""Shared message contracts of the MASH mesh: vocabularies, messages v1, the topic catalogue, the codec."""

from . import topics
from .codec import UnreadableMessage, decode, derived_id, encode, headers_for
from .messages import (
    Acknowledgement,
    Alert,
    AuditAnchor,
    OutcomeNotice,
    RagChange,
    Address,
    Concern,
    ConsentPosition,
    Contribution,
    DeadLetter,
    Decision,
    DeskReturn,
    Factor,
    InformationProduct,
    Notification,
    NotificationSubmission,
    Referrer,
    Rejection,
    ResearchGrounds,
    SharedItem,
    Subject,
    UncertainMatch,
)
from .vocabulary import (
    Agency,
    AlertKind,
    ConcernCategory,
    ConsentStatus,
    ContributionStatus,
    GroundsKind,
    Outcome,
    ProtectiveFactor,
    RagRating,
    ReferrerKind,
    StatutoryFooting,
    SubjectRole,
    ThresholdLevel,
)
from .text import shorten

__all__ = [
    "Alert", "AlertKind", "AuditAnchor", "OutcomeNotice", "RagChange",
    "Acknowledgement", "Address", "Agency", "Concern", "ConcernCategory", "ConsentPosition", "ConsentStatus",
    "Contribution", "ContributionStatus", "DeadLetter", "Decision", "DeskReturn", "Factor", "GroundsKind", "InformationProduct", "Notification",
    "NotificationSubmission", "Outcome", "ProtectiveFactor", "RagRating", "Referrer", "ReferrerKind", "Rejection", "ResearchGrounds", "SharedItem",
    "StatutoryFooting", "Subject", "SubjectRole", "ThresholdLevel", "UncertainMatch", "UnreadableMessage", "decode", "derived_id", "encode",
    "headers_for", "shorten", "topics",
]
