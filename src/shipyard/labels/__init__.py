"""Labeling with quality control: projects, annotators, agreement, truth inference.

>>> project = ws.labels.create_project("reviews", df, classes=["neg", "pos"], overlap=3)
>>> task = ws.labels.next_task(project, "alice")
>>> ws.labels.submit(project, task.row, "alice", "pos")
>>> ws.labels.agreement(project).summary()
>>> ws.labels.export(project, method="dawid_skene")

The algorithms work on plain arrays too (``fleiss_kappa``, ``dawid_skene``,
``find_label_issues``…); simulated crowds live in :mod:`shipyard.labels.simulate`.
"""

from ._active import entropy, least_confidence, margin, uncertainty
from ._agreement import (
    AgreementReport,
    PairAgreement,
    agreement_report,
    co_rated_pairs,
    cohen_kappa,
    coincidence_matrix,
    count_matrix,
    fleiss_kappa,
    fleiss_kappa_per_class,
    gwet_ac1,
    krippendorff_alpha,
    observed_agreement,
    pairwise_agreement,
)
from ._cleaning import confident_joint, find_label_issues
from ._errors import (
    AnnotatorExcluded,
    AnnotatorNotFound,
    DuplicateAnnotation,
    InvalidAnnotation,
    LabelNotInClasses,
    NotAllowed,
    ProjectNotFound,
    SpanOutOfRange,
    TaskNotAssigned,
    TaskNotFound,
)
from ._exchange import Labels
from ._inference import Aggregate, dawid_skene, majority_vote, weighted_majority
from ._matching import box_iou, match_agreement, match_score, span_iou
from ._models import KINDS, ROLES, Annotator, LabelExport, Project, Task

__all__ = [
    "KINDS",
    "ROLES",
    "Aggregate",
    "AgreementReport",
    "Annotator",
    "AnnotatorExcluded",
    "AnnotatorNotFound",
    "DuplicateAnnotation",
    "InvalidAnnotation",
    "LabelExport",
    "LabelNotInClasses",
    "Labels",
    "NotAllowed",
    "PairAgreement",
    "Project",
    "ProjectNotFound",
    "SpanOutOfRange",
    "Task",
    "TaskNotAssigned",
    "TaskNotFound",
    "agreement_report",
    "box_iou",
    "co_rated_pairs",
    "cohen_kappa",
    "coincidence_matrix",
    "confident_joint",
    "count_matrix",
    "dawid_skene",
    "entropy",
    "find_label_issues",
    "fleiss_kappa",
    "fleiss_kappa_per_class",
    "gwet_ac1",
    "krippendorff_alpha",
    "least_confidence",
    "majority_vote",
    "margin",
    "match_agreement",
    "match_score",
    "observed_agreement",
    "pairwise_agreement",
    "span_iou",
    "uncertainty",
    "weighted_majority",
]
