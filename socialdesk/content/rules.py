"""What a workspace forbids a post to say, asked before anything is scheduled.

The rules are the workflow's: the brand voice's banned phrases, hashtag range and length per
network (``workflow.voice.forbidden_problems``). The doors that schedule are lower floors:
content's services (behind the editor and the API), content's CSV import, and publishing's
``schedule`` (behind the calendar, the queues and the deliveries API).

Why the rule comes down through this interface instead of content calling ``workflow.voice``:
the workflow is built on content (its models point at ``Post``; its checklists read posts),
so content importing it would tie the two floors into one knot, and publishing must never
import the workflow at all. So the workflow registers its rule here when it starts
(``WorkflowConfig.ready``), and every door asks ``checker``/``forbidden``; without the
workflow installed nothing is forbidden here. The composer's live panel shows the sentences
of the same function, so a refusal is worded as the warning the writer saw while typing.

A rule is a factory: given a workspace id it loads what it needs once (the CSV import checks
10,000 rows with one query) and returns a function of a text and the networks it goes to,
which answers sentences that say what to fix (empty: allowed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Checker = Callable[[str, list[str]], list[str]]
RuleFactory = Callable[[int], Checker]

_factories: list[RuleFactory] = []


def register(factory: RuleFactory) -> None:
    """Add a rule (called from an upper floor's ``AppConfig.ready``); registering the same
    factory twice keeps one."""
    if factory not in _factories:
        _factories.append(factory)


def checker(workspace_id: int) -> Checker:
    """A function telling what the workspace's rules forbid in a text going to ``networks``."""
    checks = [factory(workspace_id) for factory in _factories]

    def check(text: str, networks: list[str]) -> list[str]:
        problems: list[str] = []
        for one in checks:
            for problem in one(text, networks):
                if problem not in problems:
                    problems.append(problem)
        return problems

    return check


def forbidden(workspace_id: int, text: str, networks: Iterable[str] = ()) -> list[str]:
    """What the workspace's rules forbid in ``text`` on ``networks`` (empty: allowed)."""
    if not _factories:
        return []
    return checker(workspace_id)(text, sorted(set(networks)))
