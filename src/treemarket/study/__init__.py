"""Studies at scale: parameter sweeps and Monte Carlo over generated instances, on Dask.

A study file names a model or generator, the parameters to sweep (grid and random samples), the
seeds, the computations per task and the metrics to keep (:mod:`treemarket.study.schema`). Each
task is a pure function of its parameters (:mod:`treemarket.study.tasks`, running the
computations registered in :mod:`treemarket.study.computations`), run on Dask workers
(:mod:`treemarket.study.runner`) and committed atomically to a SQLite store under a key derived
from its parameters and the package version (:mod:`treemarket.study.store`); a stopped study
resumes with what is missing. :mod:`treemarket.study.report` turns the store into pandas tables
and pictures; :mod:`treemarket.distributed` runs the market solver on blocks of buyers spread
over workers.

Examples
--------
>>> from treemarket.study import study_from_dict
>>> study = study_from_dict({
...     "study": "tiny", "model": {"generator": "forecast", "params": {"buyers": 3}},
...     "sweep": {"grid": {"accuracy": [0.5, 1.0]}}, "seeds": 2,
...     "compute": {"solve": {"method": "exact"}}, "metrics": ["solve.welfare"]})
>>> len(study.tasks()), study.swept, study.metrics
(4, ['accuracy'], ['solve.welfare'])
"""

from treemarket.study.generators import forecast_model, forecast_tree
from treemarket.study.report import (
    results_frame,
    summary_frame,
    write_pictures,
    write_report,
    write_tables,
)
from treemarket.study.runner import RunState, RunSummary, StudyStatus, run_study, study_status
from treemarket.study.schema import Study, Task, load_study, study_from_dict, task_key
from treemarket.study.store import ResultStore, StoredResult
from treemarket.study.tasks import Outcome, available_metrics, execute, run_task

__all__ = [
    "Outcome",
    "ResultStore",
    "RunState",
    "RunSummary",
    "StoredResult",
    "Study",
    "StudyStatus",
    "Task",
    "available_metrics",
    "execute",
    "forecast_model",
    "forecast_tree",
    "load_study",
    "results_frame",
    "run_study",
    "run_task",
    "study_from_dict",
    "study_status",
    "summary_frame",
    "task_key",
    "write_pictures",
    "write_report",
    "write_tables",
]
