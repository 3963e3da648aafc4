"""Every clause's judge functions by test name: judges.py's and those of the modules beside it (which import
judges.py, so they are gathered here rather than there)."""

from __future__ import annotations

from bench.evidence import judge_download, judge_invalid, judge_pm
from bench.evidence.judge_more import MORE_JUDGES
from bench.evidence.judges import JUDGES as CORE
from bench.evidence.judges import Judge

JUDGES: dict[str, dict[str, Judge]] = {
    **CORE,
    **MORE_JUDGES,
    "5.1.3": {**CORE.get("5.1.3", {}), **MORE_JUDGES["5.1.3"]},
    "5.2.2": judge_download.JUDGES,
    "5.2.3": {
        **CORE.get("5.2.3", {}),
        "test_invalid_set_is_refused_as_a_whole": judge_invalid.judge_invalid_set,
    },
    "5.4.1": {
        **judge_pm.JUDGES_5_4_1,
        "test_invalid_upload_interval_changes_nothing": judge_invalid.judge_invalid_interval,
    },
    "5.4.2": judge_pm.JUDGES_5_4_2,
}
