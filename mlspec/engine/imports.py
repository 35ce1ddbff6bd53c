"""One thread of a process imports step and library modules at a time.

A local run imports scikit-learn and XGBoost in a thread (`LocalBackend._warm_here`) while
its steps run. Two threads importing one package graph at once can each hold a module the
other needs (packages with circular imports), and Python's import system then fails one of
them with a deadlock error rather than wait. So whoever imports a step module, or a heavy
library after its data work (`steps/train.py`), holds `IMPORTING` meanwhile; the warm-up
holds it for all its imports. Modules already imported need no lock.
"""

from __future__ import annotations

import threading

IMPORTING = threading.RLock()
