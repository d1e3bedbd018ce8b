"""JUnit XML: a test case per finding, and one per rule that found nothing.

CI systems that only read test reports (Jenkins, GitLab, Azure DevOps) then
list every finding next to the unit tests: each is its own ``<testcase>``
(classname: the rule id; name: where), since most of them show a single
failure per test case.  A finding below ``--fail-on`` is not a failure (the
run does not fail on it): its test case passes and says the finding in
``<system-out>``.  A rule without findings is a passing test case named after
the rule; errors that kept gatecheck from checking everything are
``<error>``s of a test case named ``gatecheck``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gatecheck.engine import RunResult
from gatecheck.findings import Finding, Severity
from gatecheck.report import rule_catalogue, with_help
from gatecheck.report.text import location

#: Characters XML 1.0 cannot carry even as references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render(result: RunResult, *, fail_on: Severity = Severity.INFO) -> str:
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    rules = rule_catalogue(result)

    suites = ET.Element("testsuites", name="gatecheck")
    suite = ET.SubElement(suites, "testsuite", name="gatecheck")
    tests = failures = 0
    for rule in rules:
        findings = by_rule.get(rule.id, [])
        if not findings:
            tests += 1
            ET.SubElement(suite, "testcase", classname=rule.id, name=rule.id)
        for f in findings:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=rule.id,
                                 name=_xml_text(location(f)))
            if f.path is not None:
                # GitLab links the test case to the file.
                case.set("file", _xml_text(f.path))
                case.set("line", str(f.line))
            named = f.rule if f.rule == f.kind else f"{f.rule}, {f.kind}"
            text = _xml_text(f"{location(f)}: {with_help(f)} [{named}]")
            if f.severity >= fail_on:
                failures += 1
                failure = ET.SubElement(case, "failure", message=_xml_text(with_help(f)),
                                        type=f.severity.label)
                failure.text = text
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{f.severity.label} (below --fail-on): {text}"
    if result.errors:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname="gatecheck", name="gatecheck")
        for error in result.errors:
            element = ET.SubElement(case, "error", message=_xml_text(error.message),
                                    type=type(error).__name__)
            element.text = _xml_text(str(error))
    counts = {"tests": str(tests), "failures": str(failures),
              "errors": str(1 if result.errors else 0), "skipped": "0"}
    for element in (suites, suite):
        element.attrib.update(counts)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
