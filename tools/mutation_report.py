"""`make mutation`'s summary: mutmut's verdicts per module of shared/domain and shared/services, and the score.

The score counts a mutant as pinned when a unit test failed on it (killed) or ran out of time; one no
test reached ("no tests") or that every test survived is a rule the fast tests do not pin. The survivors
are listed so each can be killed by a test or judged equivalent in docs/explanation/testing.md.
"""

import subprocess
import sys
from collections import Counter, defaultdict

PINNED = {"killed", "timeout"}


def verdicts() -> dict[str, str]:
    """mutant name → verdict, as `mutmut results --all true` prints them ("name: verdict")."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    return {name.strip(): verdict.strip() for name, _, verdict in (line.partition(":") for line in out.splitlines()) if verdict}


def main() -> int:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for mutant, verdict in verdicts().items():
        by_module[mutant[: mutant.find(".x")]][verdict] += 1
        if verdict not in PINNED:
            survivors.append(f"{mutant}: {verdict}")
    total: Counter[str] = Counter()
    print("| module | mutants | pinned | survived | no tests | score |\n|---|---:|---:|---:|---:|---:|")
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(_row(module, counts))
    print(_row("**all**", total))
    print("\nNot pinned (inspect with `.venv/bin/mutmut show NAME`):")
    print("\n".join(sorted(survivors)) or "none")
    return 0


def _row(name: str, counts: Counter[str]) -> str:
    mutants = sum(counts.values())
    pinned = sum(counts[v] for v in PINNED)
    score = f"{100 * pinned / mutants:.0f} %" if mutants else "-"
    return f"| {name} | {mutants} | {pinned} | {counts['survived']} | {counts['no tests']} | {score} |"


if __name__ == "__main__":
    sys.exit(main())
