"""Which public data trains the reader and which validates it, decided by article title in code.

Roles (each dataset's SOURCE.md in the shared datasets folder says the same):
- train: SQuADShifts new-wiki, DROP dev in full and the DROP samples (answers that are passage
  spans; deduplicated by question; a passage taken from a validation article is left out), TAT-QA
  dev (less one context in HELDOUT_TATQA_SHARE, kept to report TAT-QA text questions), the 32
  SQuAD v1.1 dev articles whose titles are not in VALIDATION_TITLES, RealTime QA's news quizzes
  (distant labels) and the BBC business questions of train.jsonl (articles 001-250);
- validation: the 16 SQuAD v1.1 dev articles in VALIDATION_TITLES (the articles of the SQuAD 2.0
  dev half), that SQuAD 2.0 half, for abstention, and the BBC business questions of
  validation.jsonl (articles 251-380). Models, mixes and thresholds are chosen here;
- test: the bundled eval/questions.jsonl only. Nothing here reads it.

Within training, one group in RANKER_SHARE (an article, passage or context, by a hash of its key)
is kept from the reader: the ranker learns from the reader's scores on questions it never saw,
as it meets them when serving.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.errors import InputError
from index.paths import datasets_dir

Role = Literal["train", "validation"]
Split = Literal["train", "validation", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "validation", "heldout")

# The 16 articles of the SQuAD 2.0 dev half (squad-v2.0-cs224n-dev/dev-v2.0.json), as SQuAD spells them.
VALIDATION_TITLES: frozenset[str] = frozenset(
    {
        "Normans",
        "Computational_complexity_theory",
        "Huguenot",
        "Steam_engine",
        "1973_oil_crisis",
        "European_Union_law",
        "Packet_switching",
        "Harvard_University",
        "Yuan_dynasty",
        "Immune_system",
        "Scottish_Parliament",
        "Islamism",
        "Imperialism",
        "Warsaw",
        "French_and_Indian_War",
        "Force",
    }
)
HELDOUT_TATQA_SHARE = 10  # one TAT-QA context in 10 (by a hash of its table uid) is held out for reporting
RANKER_SHARE = 3  # one training group in 3 trains the ranker, not the reader

# Dataset files, relative to the datasets folder.
SQUADSHIFTS = "squadshifts-new-wiki/new_wiki_v1.0.json"
SQUAD_V1 = "squad-v1.1/dev-v1.1.json"
SQUAD_V2_HALF = "squad-v2.0-cs224n-dev/dev-v2.0.json"
DROP_CONTRAST = "drop-samples/drop_contrast_sets_test.json"
DROP_MASARENA = ("drop-samples/masarena_drop_raw.jsonl", "drop-samples/masarena_drop_validate.jsonl")
DROP_FULL = "drop-dev-full/drop_v0_dev.jsonl.gz"
TATQA_DEV = "tat-qa/tatqa_dataset_dev.json"
REALTIMEQA = "realtimeqa/realtimeqa_extractive_distant.json"
BBC = "bbc-business-numeric"
BBC_TRAIN = f"{BBC}/train.jsonl"
BBC_VALIDATION = f"{BBC}/validation.jsonl"
DATA_FILES = (SQUADSHIFTS, SQUAD_V1, SQUAD_V2_HALF, DROP_CONTRAST, *DROP_MASARENA, DROP_FULL, TATQA_DEV,
              REALTIMEQA, BBC_TRAIN, BBC_VALIDATION)  # fmt: skip


def squad_role(title: str) -> Role:
    """The role of a SQuAD v1.1 dev article: validation for the 16 titles, training for the rest."""
    return "validation" if title in VALIDATION_TITLES else "train"


def tatqa_heldout(table_uid: str) -> bool:
    """True for the TAT-QA contexts kept out of training, to report TAT-QA text questions on."""
    digest = hashlib.sha256(table_uid.encode("utf-8")).digest()
    return digest[0] % HELDOUT_TATQA_SHARE == 0


def ranker_fold(group: str) -> bool:
    """True for the training groups kept from the reader to train the ranker on."""
    return hashlib.sha256(f"ranker:{group}".encode()).digest()[0] % RANKER_SHARE == 0


def split_of_group(dataset: str, key: str) -> Split:
    """The split of an article or context of an eval dataset ("squad", "squad2" or "tatqa")."""
    if dataset in ("squad", "squad2"):
        return squad_role(key)
    return "heldout" if tatqa_heldout(key) else "train"


@dataclass(frozen=True)
class DataDir:
    """The folder holding the public datasets, checked to hold every file training reads."""

    root: Path

    def path(self, relative: str) -> Path:
        return self.root / relative


def default_data_dir() -> Path:
    """The datasets folder beside a source checkout (../shared/datasets); InputError when installed."""
    return datasets_dir(None)


def open_data_dir(root: Path) -> DataDir:
    """The datasets folder, or InputError naming every missing file and how to point at the folder."""
    missing = [name for name in DATA_FILES if not (root / name).is_file()]
    if missing:
        raise InputError(
            f"the datasets folder {root} lacks {', '.join(missing)}; "
            "pass --data DIR (or set RAG_DATASETS_DIR) to the folder holding the public QA datasets"
        )
    return DataDir(root)
