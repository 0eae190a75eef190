"""Pre-birth linkage: an unborn child is linked to the records of its parent's other children.

Local pre-birth protocols make a previous child removed from the parents' care, subject to care proceedings or
on a child protection plan a trigger for a pre-birth assessment (London Safeguarding Children Procedures,
Pre-birth Referral and Assessment). A referrer who names the expectant mother and the unborn child often does
not know of her older children, so the desk finds them in its own records: a record that names a person as
`parent` of the child it is about links that parent to the child. Those children become linked subjects of
the referral in the role `sibling`; the agency's policy decides which of their records may be shared, and
their identities are withheld because the referral does not name them.
"""

from __future__ import annotations

from mash_contracts import Notification, SubjectRole

from .model import AgencyRecord, Match

PARENT = "parent"  # the role a record gives the parent of the child it is about (see RecordClass.parties)
SIBLING = "sibling"  # the role a linked child has under the sharing policy


def linked_children(notification: Notification, matches: dict[str, Match], records: list[AgencyRecord]) -> dict[str, Match]:
    """The other children of the unborn child's parents, by agency person id, each with the match of the parent
    through whom they are linked. Only when the referral names an unborn child, and only through a parent the
    desk matched with certainty: an uncertain match must not pull in another family's children."""
    if not any(s.role is SubjectRole.UNBORN_CHILD for s in notification.subjects):
        return {}
    parent_refs = {s.subject_ref for s in notification.subjects if s.role is SubjectRole.PARENT_CARER}
    parents = {pid: m for pid, m in matches.items() if m.subject_ref in parent_refs}
    linked: dict[str, Match] = {}
    for record in records:
        via = next((parents[pid] for pid, role in record.parties.items() if role == PARENT and pid in parents), None)
        if via is None:
            continue
        for pid, role in record.parties.items():
            if role != PARENT and pid not in matches:
                linked.setdefault(pid, via)
    return linked
