"""Run every benchmark of the project, one after another, printing each one's figures.

    python benchmarks/run_all.py [--quick]

Each script prints its figure next to a reference measured in the same run, and a ratio.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("extraction", ["bench_extraction.py"]),
    ("ingest", ["bench_ingest.py"]),
    ("build and refresh", ["bench_build.py"]),
    ("Neo4j writes", ["bench_neo4j_writes.py"]),
    ("GNN", ["bench_gnn.py"]),
    ("recommend", ["bench_recommend.py", "--neo4j"]),
]


def main() -> int:
    failed = []
    for title, command in SCRIPTS:
        script = HERE / command[0]
        if not script.exists():
            continue
        print(f"\n=== {title}: {' '.join(command)}", flush=True)
        if subprocess.run([sys.executable, str(script), *command[1:]], cwd=HERE.parent).returncode != 0:
            failed.append(title)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
