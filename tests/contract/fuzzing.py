"""Driving schemathesis over every documented operation of a running gateway, from a worker thread
(schemathesis and hypothesis are synchronous; the gateway keeps serving on the test's event loop).

Each operation is run in three phases: the document's own examples (the happy paths: real
generations against the simulator), then a bounded number of examples of positive data (valid per
the document) and of negative data (breaking it), with a deterministic seed, so a run is repeatable
and fits in a test suite (``FUZZ_EXAMPLES`` raises the bound for a longer exploration). A failing
example is not shrunk (it would cost minutes): every failure is collected with its request.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
CALL_TIMEOUT = 30.0  # seconds for one call: a hang is a failure, not a stuck test run
Check = Callable[..., Any]


@dataclass(frozen=True)
class Plan:
    """How hard to fuzz one operation: ``examples`` per mode (0: not at all, and ``why``); ``full``:
    also the document's examples and negative data (else one positive example: an alias path)."""

    examples: int
    full: bool = True
    why: str = ""


@dataclass
class Finding:
    """A check that failed: where, how, and the request that caused it."""

    operation: str
    mode: str
    error: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}]: {self.error}"


@dataclass
class Report:
    """What a run found, and how much it did."""

    findings: list[Finding] = field(default_factory=list)
    calls: int = 0
    operations: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Target:
    """Where the calls go, with which credentials, checked how."""

    base_url: str
    headers: Callable[[str], dict[str, str]]  # by path: the credentials it needs (over generated ones)
    checks: Sequence[Check]


def fuzz(document: dict[str, Any], target: Target, plan: Callable[[str, str], Plan]) -> Report:
    """Fuzz every operation of ``document`` as ``plan(method, path)`` says."""
    schema = schemathesis.openapi.from_dict(document)
    report = Report()
    started = time.perf_counter()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            method, path = operation.method.upper(), operation.path
            how = plan(method, path)
            if not how.examples:
                report.skipped[f"{method} {path}"] = how.why
                continue
            report.operations += 1
            run = _Runner(operation, session, target, report)
            for strategy in schema.get_strategies_from_examples(operation) if how.full else ():
                run.cases(strategy, "examples", 1)
            modes = (
                (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if how.full else (GenerationMode.POSITIVE,)
            )
            for mode in modes:
                run.cases(operation.as_strategy(generation_mode=mode), mode.value, how.examples)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Runner:
    operation: Any
    session: requests.Session
    target: Target
    report: Report

    def cases(self, strategy: st.SearchStrategy[Any], mode: str, examples: int) -> None:
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.given(case=strategy)
        def test(case: schemathesis.Case) -> None:
            self.call(case, mode)

        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            test()  # Unsatisfiable: nothing to negate (no parameter, no body); the positive run stands

    def call(self, case: schemathesis.Case, mode: str) -> None:
        label = f"{self.operation.method.upper()} {self.operation.path}"
        headers = self.target.headers(self.operation.path)
        curl = case.as_curl_command(headers={k: "..." for k in headers})[:600]
        try:
            response = case.call(
                base_url=self.target.base_url,
                session=self.session,
                headers=headers,
                timeout=CALL_TIMEOUT,
                allow_redirects=False,  # a redirect is an answer of its own, documented as such
            )
        except requests.RequestException as exc:  # a hang (timeout) or a connection the server dropped
            self.report.findings.append(Finding(label, mode, f"{type(exc).__name__}: {exc}\n    {curl}"))
            return
        self.report.calls += 1
        self.report.statuses[response.status_code] = self.report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=list(self.target.checks), headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis FailureGroup: the checks that failed
            self.report.findings.append(Finding(label, mode, f"{_summary(exc)}\n    {curl}"))


def _summary(exc: BaseException) -> str:
    """Each failed check in a few lines (schemathesis' own text runs to pages)."""
    failures = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    lines = []
    for failure in failures:
        text = [line for line in str(failure).splitlines() if line.strip()]
        lines.append(f"{type(failure).__name__}: " + " / ".join(text[:4])[:500])
    return "\n    ".join(lines)


BUILT_IN = (
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.ignored_auth,
)
